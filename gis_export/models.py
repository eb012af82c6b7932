"""GIS export jobs (the kind is declared in gis_export/jobs.py)."""

from terrafusion.jobs.models import BaseJob, job_indexes


class GisExportJob(BaseJob):
    class Meta(BaseJob.Meta):
        verbose_name = "GIS export job"
        indexes = job_indexes("gis_job")
