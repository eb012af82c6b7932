"""The admin of ingestion: the load jobs (generated with every job kind), the records a load left out, and the
uploaded files."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from ingestion.models import IngestionReject, Upload
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


@admin.register(Upload)
class UploadAdmin(CountyScopedAdmin):
    """Uploaded files of property data: their state, who uploaded and approved them, their counts, the original."""

    read_only = True
    list_display = ("created_at", "original_name", "county", "kind", "state", "rows", "uploaded_by", "approved_by",
                    "original_link")  # fmt: skip
    list_filter = (("county", CountyListFilter), "kind", "state", "created_at")
    list_select_related = ("county", "uploaded_by", "approved_by")
    search_fields = ("original_name", "=id")
    fields = ("county", "kind", "state", "original_name", "original_link", "size", "rows", "encoding", "sheet",
              "column_mapping", "uploaded_by", "approved_by", "preview", "message", "created_at", "validated_at",
              "approved_at", "applied_at")  # fmt: skip
    readonly_fields = ("original_link",)

    @admin.display(description="original file")
    def original_link(self, obj) -> str:
        return format_html('<a href="{}">{}</a>', reverse("api:ingestion-upload-original", args=[obj.pk]),
                           obj.original_name)  # fmt: skip
