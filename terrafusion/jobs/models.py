"""The abstract job row that every job kind's model builds on."""

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from counties.models import County
from counties.querysets import CountyScopedQuerySet

if TYPE_CHECKING:
    from terrafusion.jobs.registry import JobKind


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class JobStopped(Exception):
    """The job was cancelled (or failed elsewhere) while this part of it ran: its work is not kept."""


def job_file_path(job: "BaseJob", filename: str) -> str:
    return f"jobs/{job.kind}/{job.county.slug}/{job.pk}/{filename}"


# A result file's name: what the API's URL and a download's filename carry (no path, no spaces).
FILE_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"


def job_indexes(prefix: str) -> list[models.Index]:
    """The indexes every job table carries (Django cannot name them generically on an abstract model)."""
    return [
        models.Index(fields=["county", "status", "created_at"], name=f"{prefix}_county_status"),
        models.Index(fields=["status", "heartbeat_at"], name=f"{prefix}_status_heartbeat"),
    ]


class BaseJob(models.Model):
    """A job: its parameters, lifecycle, progress, log and results (one concrete model per job kind)."""

    COUNTY_FIELD = "county_id"
    # Set by the kind's declaration (terrafusion.jobs.registry.JobKind in the app's jobs.py), not here.
    job_kind: ClassVar["JobKind"]
    kind: ClassVar[str]
    run_codename: ClassVar[str]
    queue_name: ClassVar[str] = "default"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    parameters = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True, help_text="The result summary, once completed.")
    files = models.JSONField(
        default=list,
        blank=True,
        help_text="Named result files, the main one first: [{name, title, content_type, size, path}].",
    )
    error_message = models.TextField(blank=True)
    progress = models.FloatField(default=0.0, help_text="0 to 1.")
    progress_message = models.CharField(max_length=200, blank=True)
    log = models.JSONField(default=list, blank=True, help_text="[{at, level, message}, ...]")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    chunks_total = models.PositiveIntegerField(default=0, help_text="Parts the work was cut into (0: one piece).")
    chunks_done = models.PositiveIntegerField(default=0)
    rq_job_id = models.CharField(max_length=100, blank=True)
    worker_name = models.CharField(max_length=200, blank=True)

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    def lock_if_going(self) -> bool:
        """Inside a transaction: lock the job's row if it is still pending or running (and say so), so the work
        written in that transaction commits only for a job not cancelled or failed meanwhile: a cancel waits for it.
        An exclusive lock: the parts of a job store their results one at a time while the others compute. On a
        million parcels with 2 workers on 2 cores, a share lock (all writing at once) was no faster (runs vary by
        a fifth here), and one writer at a time keeps the results' index pages uncontended."""
        status = type(self).objects.select_for_update().filter(pk=self.pk).values_list("status", flat=True).first()
        if status is not None:
            self.status = status
        return status in (JobStatus.PENDING, JobStatus.RUNNING)

    def file(self, name: str) -> dict | None:
        """The result file called `name` ({name, title, content_type, size, path}), or None."""
        return next((entry for entry in self.files if entry["name"] == name), None)

    @property
    def main_file(self) -> dict | None:
        """The file `download/` serves: the first the job made."""
        return self.files[0] if self.files else None

    @property
    def files_expire_at(self):
        """When the job's files stop being downloadable (its kind's file_ttl_setting hours after it finished), or
        None when they are kept."""
        setting = self.job_kind.file_ttl_setting
        if setting is None or self.finished_at is None:
            return None
        return self.finished_at + timedelta(hours=getattr(settings, setting))

    @property
    def files_expired(self) -> bool:
        expires = self.files_expire_at
        return expires is not None and expires <= timezone.now()

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()
