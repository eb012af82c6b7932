"""The periodic sweep: fail the jobs whose worker died, so that no job stays `running` forever.

A running job's heartbeat is refreshed every JOB_HEARTBEAT_SECONDS by its worker; a worker that was
killed, ran out of memory or lost its machine stops refreshing it. A pending job whose RQ job
failed or vanished (e.g. Redis was flushed) would never start, so it is failed too.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from terrafusion.jobs.models import JobStatus
from terrafusion.jobs.registry import job_models

logger = logging.getLogger(__name__)

PENDING_GRACE = timedelta(minutes=2)  # a just-created job may not be in Redis before its commit


WAITING = ("queued", "deferred", "scheduled")


def _parts_waiting(job, connection) -> bool:
    """Whether some part of a chunked job is still waiting in the queue."""
    from rq.job import Job

    from terrafusion.jobs.runner import chunk_rq_id

    parts = Job.fetch_many([chunk_rq_id(job.pk, index) for index in range(job.chunks_total)], connection=connection)
    return any(part is not None and part.get_status(refresh=False) in WAITING for part in parts)


def sweep_stale_jobs() -> dict[str, int]:
    """Mark dead jobs failed; returns {kind: number failed}."""
    import django_rq
    from rq.job import Job
    from rq.job import JobStatus as RqStatus

    from terrafusion.jobs.runner import job_finish

    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
    swept: dict[str, int] = {}
    for model in job_models():
        connection = django_rq.get_connection(model.queue_name)
        stale = model.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale_before).select_related("county")
        for job in stale:
            if job.chunks_total and _parts_waiting(job, connection):
                # Parts still wait in the queue for a free worker: slow, not dead.
                model.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(heartbeat_at=now)
                continue
            message = (
                f"The worker running this job ({job.worker_name or 'unknown'}) stopped responding; no heartbeat "
                f"since {job.heartbeat_at:%Y-%m-%d %H:%M:%S %Z}. Nothing it did after its last commit was kept; "
                "run the job again."
            )
            # Only if no heartbeat came in meanwhile.
            expect = {"status": JobStatus.RUNNING, "heartbeat_at": job.heartbeat_at}
            if job_finish(job, ok=False, expect=expect, error_message=message):
                logger.warning("%s job %s failed by the sweep: %s", model.kind, job.pk, message)
                swept[model.kind] = swept.get(model.kind, 0) + 1

        pending = list(
            model.objects.filter(status=JobStatus.PENDING, created_at__lt=now - PENDING_GRACE).select_related("county")
        )
        if pending:
            rq_jobs = Job.fetch_many([job.rq_job_id for job in pending], connection=connection)
            for job, rq_job in zip(pending, rq_jobs, strict=True):
                rq_status = rq_job.get_status(refresh=False) if rq_job is not None else None
                if rq_status in (*WAITING, RqStatus.STARTED):
                    continue
                reason = "it was lost from the queue" if rq_job is None else f"its queue entry is {rq_status}"
                message = f"This job never started: {reason}."
                if job_finish(job, ok=False, expect={"status": JobStatus.PENDING}, error_message=message):
                    swept[model.kind] = swept.get(model.kind, 0) + 1
    return swept


def expired_files_delete() -> int:
    """Delete the files of finished jobs past their kind's file lifetime (JobKind.file_ttl_setting) from the
    storage, and forget them on the job; the job and its result stay. Returns how many files were deleted."""
    from django.core.files.storage import default_storage

    from terrafusion.jobs.models import FINISHED_STATUSES
    from terrafusion.jobs.registry import job_kinds

    deleted = 0
    for kind in job_kinds():
        if kind.file_ttl_setting is None:
            continue
        before = timezone.now() - timedelta(hours=getattr(settings, kind.file_ttl_setting))
        for job in kind.model.objects.filter(status__in=FINISHED_STATUSES, finished_at__lte=before).exclude(files=[]):
            for entry in job.files:
                default_storage.delete(entry["path"])
                deleted += 1
            kind.model.objects.filter(pk=job.pk).update(files=[])
    return deleted
