"""Report jobs."""

from counties.roles import RUN_REPORT
from terrafusion.jobs.models import BaseJob, job_indexes


class ReportJob(BaseJob):
    kind = "reporting"
    run_codename = RUN_REPORT
    runner_path = "reporting.jobs.ReportJobRunner"
    parameters_serializer_path = "reporting.api.serializers.ReportParametersSerializer"

    class Meta(BaseJob.Meta):
        indexes = job_indexes("report_job")
