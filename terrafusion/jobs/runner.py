"""JobRunner, the base of every job kind's runner, and `execute_job`, the function RQ runs.

A runner is thin: `run()` validates nothing new and calls one service, returning the result summary
(a JSON-able dict); it may attach a result file with `save_file`. Services own their transactions,
so a failed job leaves the database as it was (or consistent and resumable, for chunked loads).
"""

import logging
import threading
import time
import traceback

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.module_loading import import_string

from terrafusion import metrics
from terrafusion.jobs.models import BaseJob, JobStatus

logger = logging.getLogger(__name__)


class JobRunner:
    def __init__(self, job: BaseJob):
        self.job = job

    def run(self) -> dict:
        raise NotImplementedError

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress (0 to 1) where the API shows it, and count as a heartbeat."""
        fraction = min(max(float(fraction), 0.0), 1.0)
        self.job.progress, self.job.progress_message = fraction, message[:200]
        type(self.job).objects.filter(pk=self.job.pk).update(
            progress=fraction, progress_message=message[:200], heartbeat_at=timezone.now()
        )

    def log(self, message: str, level: str = "info") -> None:
        self.job.log = [*self.job.log, {"at": timezone.now().isoformat(), "level": level, "message": message}]
        type(self.job).objects.filter(pk=self.job.pk).update(log=self.job.log)
        getattr(logger, level if level in ("debug", "info", "warning", "error") else "info")(
            "%s %s: %s", self.job.kind, self.job.pk, message
        )

    def save_file(self, filename: str, content: bytes) -> None:
        self.job.result_file.save(filename, ContentFile(content), save=False)
        type(self.job).objects.filter(pk=self.job.pk).update(result_file=self.job.result_file.name)


class _Heartbeat(threading.Thread):
    """Touches the job row every JOB_HEARTBEAT_SECONDS while the job runs, from its own connection."""

    def __init__(self, model: type[BaseJob], job_id):
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.model, self.job_id = model, job_id
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    self.model.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:
                    logger.exception("Heartbeat of job %s failed", self.job_id)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def _finish(model: type[BaseJob], job_id, **fields) -> None:
    model.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(finished_at=timezone.now(), **fields)


def execute_job(model_label: str, job_id: str) -> str:
    """Run one job in this worker: claim the row, run its runner, record the outcome and metrics."""
    from django.apps import apps
    from rq import get_current_job

    close_old_connections()
    model = apps.get_model(model_label)
    rq_job = get_current_job()
    now = timezone.now()
    claimed = model.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker_name=(rq_job.worker_name or "") if rq_job else "",
    )
    if not claimed:
        status = model.objects.filter(pk=job_id).values_list("status", flat=True).first()
        logger.warning("Job %s not run: it is %s, not pending", job_id, status or "gone")
        return f"skipped ({status or 'gone'})"

    job = model.objects.select_related("county").get(pk=job_id)
    runner = import_string(model.runner_path)(job)
    heartbeat = _Heartbeat(model, job.pk)
    heartbeat.start()
    started = time.monotonic()
    try:
        runner.log(f"Started on {job.worker_name or 'a worker'}.")
        result = runner.run()
    except Exception as exc:
        heartbeat.stop()
        duration = time.monotonic() - started
        message = str(exc) or exc.__class__.__name__
        runner.log(f"Failed: {message}\n{traceback.format_exc()}", level="error")
        _finish(model, job.pk, status=JobStatus.FAILED, error_message=message)
        metrics.record_finished(model.kind, job.county.slug, ok=False, duration=duration)
        raise
    heartbeat.stop()
    duration = time.monotonic() - started
    runner.log(f"Completed in {duration:.1f} s.")
    _finish(model, job.pk, status=JobStatus.COMPLETED, result=result or {}, progress=1.0)
    metrics.record_finished(model.kind, job.county.slug, ok=True, duration=duration)
    return "completed"
