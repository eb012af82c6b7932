"""GIS export jobs (the kind is declared in gis_export/jobs.py), and the parcel map's place in the admin."""

from properties.models import Property
from terrafusion.jobs.models import BaseJob, job_indexes


class GisExportJob(BaseJob):
    class Meta(BaseJob.Meta):
        verbose_name = "GIS export job"
        indexes = job_indexes("gis_job")


class ParcelMap(Property):
    """The admin's parcel map (a page, not a table: no rows of its own)."""

    class Meta:
        proxy = True
        verbose_name = verbose_name_plural = "parcel map"
        default_permissions = ()
