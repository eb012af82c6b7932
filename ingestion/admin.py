"""The admin of ingestion: the load jobs (generated with every job kind) and the records a load left out."""

from django.contrib import admin

from ingestion.models import IngestionReject
from terrafusion.admin import CountyListFilter, CountyScopedAdmin


@admin.register(IngestionReject)
class IngestionRejectAdmin(CountyScopedAdmin):
    """Records a load could not take: read only; fix them in PACS (or the mapping) and load again."""

    read_only = True
    list_display = ("created_at", "county", "job", "table", "record_key", "field", "reason", "value")
    list_filter = (("county", CountyListFilter), "table", "field", "created_at")
    list_select_related = ("county", "job")
    search_fields = ("record_key", "=job__id", "reason")
    search_help_text = "PACS key (e.g. prop_id=123), job id or reason."
    fields = ("county", "job", "source", "table", "record_key", "field", "reason", "value", "created_at")
