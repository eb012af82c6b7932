"""Report jobs (the kind is declared in reporting/jobs.py)."""

from terrafusion.jobs.models import BaseJob, job_indexes


class ReportJob(BaseJob):
    class Meta(BaseJob.Meta):
        indexes = job_indexes("report_job")
