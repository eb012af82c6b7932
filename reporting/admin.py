"""Admin for report jobs: read only, the user's counties only (jobs are started through the API)."""

from django.contrib import admin

from reporting.models import ReportJob
from terrafusion.admin import JobAdmin


@admin.register(ReportJob)
class ReportJobAdmin(JobAdmin):
    pass
