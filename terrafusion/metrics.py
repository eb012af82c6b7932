"""Job metrics that are right across processes: workers count into Redis, /metrics reads Redis.

prometheus_client counters live in one process's memory, but jobs run in RQ worker processes (on
any machine), so each job event is an atomic HINCRBY/HINCRBYFLOAT in Redis and the web process
exposes the totals through a custom collector. Per job kind, labelled by county:
`<kind>_jobs_submitted_total`, `<kind>_jobs_completed_total`, `<kind>_jobs_failed_total` and the
`<kind>_processing_duration_seconds` histogram. Queue gauges come from RQ's own Redis keys.
"""

import logging

from django.conf import settings
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

logger = logging.getLogger(__name__)

DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, float("inf"))
_KEY = "terrafusion:metrics:jobs:{kind}"


def _redis():
    import django_rq

    return django_rq.get_connection("default")


def metric_kind(kind: str) -> str:
    return kind.replace("-", "_")


def _bucket_label(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


def record_submitted(kind: str, county: str) -> None:
    _redis().hincrby(_KEY.format(kind=metric_kind(kind)), f"submitted|{county}", 1)


def record_finished(kind: str, county: str, *, ok: bool, duration: float) -> None:
    key = _KEY.format(kind=metric_kind(kind))
    pipe = _redis().pipeline(transaction=True)
    pipe.hincrby(key, f"{'completed' if ok else 'failed'}|{county}", 1)
    pipe.hincrbyfloat(key, f"duration_sum|{county}", duration)
    for bound in DURATION_BUCKETS:
        if duration <= bound:
            pipe.hincrby(key, f"duration_bucket|{county}|{_bucket_label(bound)}", 1)
    pipe.execute()


class JobMetricsCollector:
    """Reads the job counters from Redis at scrape time."""

    def collect(self):
        from terrafusion.jobs.registry import job_models

        try:
            connection = _redis()
            kinds = [metric_kind(model.kind) for model in job_models()]
            pipe = connection.pipeline(transaction=False)
            for kind in kinds:
                pipe.hgetall(_KEY.format(kind=kind))
            hashes = pipe.execute()
        except Exception:  # a scrape must not fail because Redis is down; health/ready reports that
            logger.exception("Could not read job metrics from Redis")
            return
        for kind, raw in zip(kinds, hashes, strict=True):
            values = {k.decode(): float(v) for k, v in raw.items()}
            families = {
                name: CounterMetricFamily(f"{kind}_jobs_{name}", f"{kind} jobs {name}", labels=["county"])
                for name in ("submitted", "completed", "failed")
            }
            histogram = HistogramMetricFamily(
                f"{kind}_processing_duration_seconds", f"Time {kind} jobs spent in a worker", labels=["county"]
            )
            counties = sorted({field.split("|")[1] for field in values})
            for county in counties:
                for name, family in families.items():
                    family.add_metric([county], values.get(f"{name}|{county}", 0.0))
                cumulative = 0.0
                buckets = []
                for bound in DURATION_BUCKETS:
                    # Buckets are stored cumulatively already (each observation counts into every
                    # bucket whose bound it is under).
                    cumulative = values.get(f"duration_bucket|{county}|{_bucket_label(bound)}", cumulative)
                    buckets.append((_bucket_label(bound), cumulative))
                histogram.add_metric([county], buckets, values.get(f"duration_sum|{county}", 0.0))
            yield from families.values()
            yield histogram


class QueueMetricsCollector:
    """Queue depth, started and failed registries, and live workers, per RQ queue."""

    def collect(self):
        import django_rq
        from rq import Worker

        depth = GaugeMetricFamily("rq_queue_jobs", "Jobs in an RQ queue by state", labels=["queue", "state"])
        workers = GaugeMetricFamily("rq_workers", "Live RQ workers")
        try:
            for name in settings.RQ_QUEUES:
                queue = django_rq.get_queue(name)
                depth.add_metric([name, "queued"], queue.count)
                depth.add_metric([name, "started"], queue.started_job_registry.count)
                depth.add_metric([name, "failed"], queue.failed_job_registry.count)
                depth.add_metric([name, "scheduled"], queue.scheduled_job_registry.count)
            workers.add_metric([], Worker.count(connection=_redis()))
        except Exception:
            logger.exception("Could not read queue metrics from Redis")
            return
        yield depth
        yield workers


_registered = False


def register_collectors() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(JobMetricsCollector())
        REGISTRY.register(QueueMetricsCollector())
        _registered = True


def metrics_view(request):
    """/metrics for Prometheus; with METRICS_TOKEN set, only for `Authorization: Bearer <token>`."""
    import hmac

    from django.http import HttpResponse
    from django_prometheus.exports import ExportToDjangoView

    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse("Unauthorized\n", status=401, content_type="text/plain",
                                headers={"WWW-Authenticate": 'Bearer realm="metrics"'})  # fmt: skip
    return ExportToDjangoView(request)
