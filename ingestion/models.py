"""Ingestion jobs (PACS loads and syncs) and the records they could not load; uploaded files of property data."""

import uuid

from django.conf import settings
from django.db import models

from counties.models import County
from counties.querysets import CountyScopedQuerySet
from ingestion.uploads import UploadKind
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


class UploadState(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    VALIDATED = "validated", "Validated"
    APPROVED = "approved", "Approved"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Rejected"


def upload_path(upload: "Upload", filename: str) -> str:
    return f"uploads/{upload.county.slug}/{upload.pk}/{filename}"


class Upload(models.Model):
    """A file of property data for one county, kept as it came: validated, approved by a second person, applied."""

    COUNTY_FIELD = "county_id"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30, choices=UploadKind.choices)
    state = models.CharField(max_length=10, choices=UploadState.choices, default=UploadState.UPLOADED)
    file = models.FileField(upload_to=upload_path, max_length=300, help_text="The original file, as uploaded.")
    original_name = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    column_mapping = models.JSONField(default=dict, blank=True, help_text="File column -> field.")
    sheet = models.CharField(max_length=100, blank=True, help_text="The workbook's sheet that was read.")
    rows = models.PositiveIntegerField(help_text="Data rows read at upload (empty rows left out).")
    encoding = models.CharField(max_length=12)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    preview = models.JSONField(null=True, blank=True, help_text="The validation's counts and rejected rows.")
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["county", "state", "created_at"], name="upload_county_state")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name} ({self.state})"
