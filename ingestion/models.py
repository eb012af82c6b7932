"""Ingestion jobs (PACS loads and syncs) and the records they could not load."""

from django.db import models

from counties.models import County
from counties.querysets import CountyScopedQuerySet
from terrafusion.jobs.models import BaseJob, job_indexes


class IngestionJob(BaseJob):
    """A PACS bulk load or sync of one county (parameters: operation, roll_year, dry_run)."""

    class Meta(BaseJob.Meta):
        indexes = job_indexes("ingestion_job")


class IngestionReject(models.Model):
    """A source record a load left out: where it is in the source, which field, and why."""

    COUNTY_FIELD = "county_id"

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="+")
    job = models.ForeignKey(IngestionJob, on_delete=models.CASCADE, related_name="rejects")
    source = models.CharField(max_length=20, default="pacs")
    table = models.CharField("source table", max_length=60)
    record_key = models.CharField(
        max_length=200, help_text="The record's key in the source, e.g. prop_id=123 year=2026."
    )
    field = models.CharField(max_length=60)
    reason = models.TextField()
    value = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["job", "id"]
        indexes = [models.Index(fields=["county", "job"], name="reject_county_job")]

    def __str__(self) -> str:
        return f"{self.table} {self.record_key}: {self.field}: {self.reason}"
