"""JobRunner, the base of every job kind's runner, and the functions RQ runs.

A runner is thin: `run()` calls one service and returns the result summary (a JSON-able dict); it
may attach named result files with `save_file` (a CSV, charts, ...; the first is the job's main file).
Services own their transactions, so a failed job leaves the database as it was (or consistent and
resumable, for chunked loads).

Heavy work is cut into chunks: a runner whose `chunks()` returns a list has each chunk run by
`run_chunk()` in its own RQ job, on any number of workers in parallel; the chunk that finishes last
calls `combine()` with every chunk's result, and the job completes. A failed chunk fails the job,
and the chunks still queued then skip.

`job_enqueue` creates a job row and hands it to RQ after the commit; it lives here, beside what RQ
runs, so the models module imports nothing of the runner (no import cycle in the jobs package).
"""

import json
import logging
import mimetypes
import re
import threading
import time
import traceback
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from counties.models import County
from terrafusion import metrics
from terrafusion.jobs.models import FILE_NAME_PATTERN, BaseJob, JobStatus, JobStopped, job_file_path
from terrafusion.jobs.registry import JobKind, job_kind_for_model

logger = logging.getLogger(__name__)

CHUNK_RESULTS_KEY = "terrafusion:jobs:{job_id}:chunk-results"
RQ_JOB_OPTIONS = {"result_ttl": 24 * 3600, "failure_ttl": 7 * 24 * 3600}


def chunk_rq_id(job_id, index: int) -> str:
    return f"{job_id}_part_{index}"


def job_enqueue(*, model: type[BaseJob], county: County, requested_by=None, parameters: dict | None = None) -> BaseJob:
    """Create the job row now and hand it to RQ once the surrounding transaction commits.

    With no surrounding transaction the hand-off happens before this returns, so a job whose queue is
    unreachable comes back already failed, with the reason in `error_message`.
    """
    job = model(county=county, requested_by=requested_by, parameters=parameters or {})
    job.rq_job_id = str(job.pk)  # the RQ job carries the row's id, so either finds the other
    job.save(force_insert=True)

    def hand_to_rq() -> None:  # a function, not a partial: Django's robust on_commit logs its __qualname__
        _hand_to_rq(model, job.pk, county.slug, _metric_extra(job))

    # robust: if Redis is down, the request that made the job still succeeds and the job is failed.
    transaction.on_commit(hand_to_rq, robust=True)
    return job


class JobLimitReached(Exception):
    """The user already has as many unfinished jobs as JOB_MAX_UNFINISHED_PER_USER allows."""


def unfinished_jobs_of(user) -> int:
    """How many of the user's jobs, of every kind, are pending or running."""
    from terrafusion.jobs.registry import job_models

    unfinished = (JobStatus.PENDING, JobStatus.RUNNING)
    return sum(model.objects.filter(requested_by=user, status__in=unfinished).count() for model in job_models())


def job_start(*, kind: JobKind, user, county: County, parameters: dict) -> BaseJob:
    """Start a job for a person (API or admin): the county's run permission, the user's cap on unfinished
    jobs, then the job. `parameters` must already be validated by the kind (`kind.validate_parameters`)."""
    from django.core.exceptions import PermissionDenied

    from counties.access import user_can

    if not county.is_active or not user_can(user, kind.run_codename, county.pk):
        raise PermissionDenied(f"You may not run {kind.slug} jobs in county {county.slug!r}.")
    limit = settings.JOB_MAX_UNFINISHED_PER_USER
    with transaction.atomic():
        # The user's row lock makes count-then-insert one step: parallel requests cannot each pass the cap.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if unfinished_jobs_of(user) >= limit:
            raise JobLimitReached(f"You have {limit} jobs pending or running; start more once some have finished.")
        job = job_enqueue(model=kind.model, county=county, requested_by=user, parameters=parameters)
    job.refresh_from_db()  # once committed (with no outer transaction) the hand-off has happened: it may have failed
    return job


def _metric_extra(job: BaseJob) -> tuple[str, ...]:
    """The values of the job's own metric labels (its kind's `metric_labels`, from its parameters)."""
    return tuple(str(job.parameters.get(name, "")) for name in job.job_kind.metric_labels)


def _hand_to_rq(model: type[BaseJob], job_id, county_slug: str, extra: tuple[str, ...] = ()) -> None:
    import django_rq

    try:
        django_rq.get_queue(model.queue_name).enqueue(
            execute_job,
            model._meta.label,
            str(job_id),
            job_id=str(job_id),
            job_timeout=settings.JOB_TIMEOUT_SECONDS,
            description=f"{model.kind} job {job_id} ({county_slug})",
            **RQ_JOB_OPTIONS,
        )
    except Exception as exc:
        failed = model.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
            status=JobStatus.FAILED,
            error_message=f"The job could not be queued ({exc.__class__.__name__}: the job queue is unreachable). "
            "Run it again when the platform is healthy.",
            finished_at=timezone.now(),
        )
        if failed:
            _count_unqueued(model.kind, county_slug, extra)
        raise
    metrics.record_submitted(model.kind, county_slug, extra)


def _count_unqueued(kind: str, county_slug: str, extra: tuple[str, ...]) -> None:
    """A job that never reached its queue was submitted and failed, as far as the metrics are concerned."""
    try:
        metrics.record_submitted(kind, county_slug, extra)
        metrics.record_finished(kind, county_slug, ok=False, duration=0.0, extra=extra)
    except Exception:  # the metrics live in Redis too; when all of Redis is down, the log is all there is
        logger.exception("Could not count the unqueued %s job in %s in the metrics", kind, county_slug)


def cancellable_statuses(job: BaseJob) -> tuple[str, ...]:
    """Pending jobs can be cancelled; running ones too where the kind's work checks it is still going."""
    if job_kind_for_model(type(job)).cancellable_while_running:
        return (JobStatus.PENDING, JobStatus.RUNNING)
    return (JobStatus.PENDING,)


def job_cancel(*, job: BaseJob) -> bool:
    """Cancel a job; False when it is not cancellable (`cancellable_statuses`). A pending job never starts; a
    running one (of a kind that allows it) stops at its next step: its parts not yet started skip, and a part
    still working keeps nothing (`BaseJob.lock_if_going`). Parts already done stay, tied to the cancelled job."""
    model = type(job)
    was = job.status
    cancelled = bool(
        model.objects.filter(pk=job.pk, status__in=cancellable_statuses(job)).update(
            status=JobStatus.CANCELLED, finished_at=timezone.now()
        )
    )
    job.refresh_from_db()
    if cancelled:
        JobRunner(job).log("Cancelled before it started." if was == JobStatus.PENDING else "Cancelled while running.")
    return cancelled


class JobRunner:
    def __init__(self, job: BaseJob):
        self.job = job

    def run(self) -> dict:
        raise NotImplementedError

    def chunks(self) -> list[dict] | None:
        """Override to cut the work into JSON-able parts that workers run in parallel (None: one piece)."""
        return None

    def run_chunk(self, chunk: dict) -> dict:
        raise NotImplementedError

    def combine(self, results: list[dict]) -> dict:
        """The job's result summary from the chunks' results, in chunk order."""
        return {"chunks": len(results)}

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress (0 to 1) where the API shows it, and count as a heartbeat."""
        fraction = min(max(float(fraction), 0.0), 1.0)
        self.job.progress, self.job.progress_message = fraction, message[:200]
        type(self.job).objects.filter(pk=self.job.pk).update(
            progress=fraction, progress_message=message[:200], heartbeat_at=timezone.now()
        )

    def log(self, message: str, level: str = "info") -> None:
        """Append to the job's log; safe when several chunks of the job log at once."""
        entry = {"at": timezone.now().isoformat(), "level": level, "message": message}
        model = type(self.job)
        with transaction.atomic():
            current = model.objects.select_for_update().values_list("log", flat=True).get(pk=self.job.pk)
            self.job.log = [*current, entry]
            model.objects.filter(pk=self.job.pk).update(log=self.job.log)
        getattr(logger, level if level in ("debug", "info", "warning", "error") else "info")(
            "%s %s: %s", self.job.kind, self.job.pk, message
        )

    def save_file(self, name: str, content: bytes | Path, *, title: str = "", content_type: str = "") -> None:
        """Attach a named result file (saving a name again replaces that file), while the job is still running:
        not to a job the sweep has failed meanwhile. Parts of a chunked job may save files at the same time.
        `content`: the bytes, or a file on disk, copied to the storage a block at a time (a large export)."""
        if not re.fullmatch(FILE_NAME_PATTERN, name):
            raise ValueError(f"A result file's name is letters, digits, '.', '_' and '-', not {name!r}.")
        if isinstance(content, Path):
            with content.open("rb") as handle:
                path = default_storage.save(job_file_path(self.job, name), File(handle, name=name))
            size = content.stat().st_size
        else:
            path, size = default_storage.save(job_file_path(self.job, name), ContentFile(content)), len(content)
        entry = {
            "name": name,
            "title": title or name,
            "content_type": content_type or mimetypes.guess_type(name)[0] or "application/octet-stream",
            "size": size,
            "path": path,
        }
        model = type(self.job)
        with transaction.atomic():
            current = model.objects.select_for_update().filter(pk=self.job.pk, status=JobStatus.RUNNING)
            files = current.values_list("files", flat=True).first()
            if files is None:
                attached = None
            else:
                replaced = [f for f in files if f["name"] == name]
                attached = [entry if f["name"] == name else f for f in files] if replaced else [*files, entry]
                model.objects.filter(pk=self.job.pk).update(files=attached)
        if attached is None:
            default_storage.delete(path)
            return
        for old in replaced:
            if old["path"] != path:
                default_storage.delete(old["path"])
        self.job.files = attached

    def files_drop(self, names: list[str]) -> None:
        """Forget the named result files (a chunked job's intermediate parts, once combined) and delete them."""
        model = type(self.job)
        with transaction.atomic():
            files = model.objects.select_for_update().values_list("files", flat=True).get(pk=self.job.pk)
            kept = [entry for entry in files if entry["name"] not in names]
            model.objects.filter(pk=self.job.pk).update(files=kept)
        for entry in files:
            if entry["name"] in names:
                default_storage.delete(entry["path"])
        self.job.files = kept


class _Heartbeat(threading.Thread):
    """Touches the job row every JOB_HEARTBEAT_SECONDS while work runs, from its own connection."""

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

    def __enter__(self) -> "_Heartbeat":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self.join(timeout=5)


def job_finish(job: BaseJob, *, ok: bool, expect: dict | None = None, **fields) -> bool:
    """Record a job's outcome and its metrics, once: only while it is still as `expect` says (default:
    running), so a job already finished elsewhere (a worker, the sweep) is left alone. True if recorded."""
    now = timezone.now()
    status = JobStatus.COMPLETED if ok else JobStatus.FAILED
    model = type(job)
    expect = expect or {"status": JobStatus.RUNNING}
    if not model.objects.filter(pk=job.pk, **expect).update(status=status, finished_at=now, **fields):
        return False
    job.status, job.finished_at = status, now
    duration = (now - job.started_at).total_seconds() if job.started_at else 0.0
    try:
        metrics.record_finished(model.kind, job.county.slug, ok=ok, duration=duration, extra=_metric_extra(job))
    except Exception:  # the outcome is recorded; a metrics Redis that is down must not undo the caller's work
        logger.exception("Could not count the %s job %s in the metrics", model.kind, job.pk)
    return True


def _finish_from_worker(runner: JobRunner, *, ok: bool, **fields) -> bool:
    """job_finish for the worker that ran the job. When the job was finished meanwhile (the sweep took it
    for dead, or it was failed by another part), the worker's outcome is not recorded: say so in the job's
    log and the worker's log, so the lost work is visible."""
    if job_finish(runner.job, ok=ok, **fields):
        return True
    status = type(runner.job).objects.filter(pk=runner.job.pk).values_list("status", flat=True).first()
    outcome = "completed" if ok else "failed"
    if status is None:
        logger.warning("%s job %s %s, but its row is gone", runner.job.kind, runner.job.pk, outcome)
        return False
    runner.log(
        f"The worker {outcome} the job, but it had already been marked {status} "
        "(e.g. by the sweep, after missed heartbeats); this outcome was not recorded.",
        level="warning",
    )
    return False


def _fail(runner: JobRunner, message: str) -> None:
    runner.log(f"Failed: {message}\n{traceback.format_exc()}", level="error")
    _finish_from_worker(runner, ok=False, error_message=message)


def execute_job(model_label: str, job_id: str) -> str:
    """Run one job in this worker: claim the row, run its runner (or split it), record the outcome."""
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
    runner = job_kind_for_model(model).runner(job)
    started = time.monotonic()
    with _Heartbeat(model, job.pk):
        try:
            runner.log(f"Started on {job.worker_name or 'a worker'}.")
            chunks = runner.chunks()
            if chunks:
                _split(runner, chunks)
                return f"split into {len(chunks)} chunks"
            result = runner.run()
        except JobStopped as exc:
            runner.log(f"Stopped: {exc}", level="warning")
            return "stopped"
        except Exception as exc:
            _fail(runner, str(exc) or exc.__class__.__name__)
            raise
    if not _finish_from_worker(runner, ok=True, result=result or {}, progress=1.0):
        return "finished too late (already finished elsewhere)"
    runner.log(f"Completed in {time.monotonic() - started:.1f} s.")
    return "completed"


def _split(runner: JobRunner, chunks: list[dict]) -> None:
    import django_rq
    from rq import Queue

    job, model = runner.job, type(runner.job)
    model.objects.filter(pk=job.pk).update(chunks_total=len(chunks), chunks_done=0)
    job.chunks_total = len(chunks)
    django_rq.get_queue(model.queue_name).enqueue_many(
        [
            Queue.prepare_data(
                execute_chunk,
                args=(model._meta.label, str(job.pk), index, chunk),
                job_id=chunk_rq_id(job.pk, index),
                timeout=settings.JOB_TIMEOUT_SECONDS,
                description=f"{model.kind} job {job.pk}, part {index + 1} of {len(chunks)} ({job.county.slug})",
                **RQ_JOB_OPTIONS,
            )
            for index, chunk in enumerate(chunks)
        ]
    )
    runner.log(f"Split into {len(chunks)} parts.")


def execute_chunk(model_label: str, job_id: str, index: int, chunk: dict) -> str:
    """Run one part of a chunked job; the part that finishes last combines the results."""
    import django_rq
    from django.apps import apps

    close_old_connections()
    model = apps.get_model(model_label)
    job = model.objects.select_related("county").filter(pk=job_id, status=JobStatus.RUNNING).first()
    if job is None:
        return "skipped (the job is no longer running)"
    runner = job_kind_for_model(model).runner(job)
    total = job.chunks_total
    with _Heartbeat(model, job.pk):
        try:
            result = runner.run_chunk(chunk)
        except JobStopped as exc:
            runner.log(f"Part {index + 1} of {total} stopped: {exc}", level="warning")
            return "stopped"
        except Exception as exc:
            _fail(runner, f"Part {index + 1} of {total} failed: {str(exc) or exc.__class__.__name__}")
            raise

    redis = django_rq.get_connection(model.queue_name)
    key = CHUNK_RESULTS_KEY.format(job_id=job.pk)
    # Under the row lock, parts record their results one at a time; counting the distinct parts
    # recorded (not executions) means a part run twice is counted once, and exactly one part sees
    # the count reach the total.
    with transaction.atomic():
        counted = model.objects.select_for_update().values_list("chunks_done", flat=True).get(pk=job.pk)
        redis.hset(key, str(index), json.dumps(result or {}))
        redis.expire(key, RQ_JOB_OPTIONS["failure_ttl"])
        done = redis.hlen(key)
        model.objects.filter(pk=job.pk).update(
            chunks_done=done,
            progress=done / total,
            progress_message=f"{done} of {total} parts done",
            heartbeat_at=timezone.now(),
        )
    if done < total or counted >= total:
        return f"part {index + 1} of {total} done"

    raw = redis.hgetall(key)
    # Combining may take long (it builds the whole result): it heartbeats like any other work.
    with _Heartbeat(model, job.pk):
        try:
            summary = runner.combine([json.loads(raw[str(i).encode()]) for i in range(total)])
        except Exception as exc:
            _fail(runner, f"Combining the parts failed: {str(exc) or exc.__class__.__name__}")
            raise
    redis.delete(key)
    if not _finish_from_worker(runner, ok=True, result=summary or {}, progress=1.0):
        return "finished too late (already finished elsewhere)"
    runner.log(f"Completed: {total} parts.")
    return "completed"
