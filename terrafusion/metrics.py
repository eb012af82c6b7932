"""Metrics that count once: job and queue figures from one exporter, HTTP/DB figures per web process.

Job counters. prometheus_client counters live in one process's memory, but jobs run in RQ worker
processes (on any machine), so each job event is an atomic HINCRBY/HINCRBYFLOAT in Redis. Per job
kind, labelled by county (and by the kind's own labels: a GIS export's format): `<kind>_jobs_submitted_total`,
`<kind>_jobs_completed_total`, `<kind>_jobs_failed_total` and the `<kind>_processing_duration_seconds`
histogram. Queue gauges come from RQ's own Redis keys.

Who exposes them. These totals are global (one Redis), so exposing them on every web instance made
Prometheus hold N copies, and `sum()` over instances multiplied them. They are exposed by one small
process instead, `manage.py metrics_exporter` (its own registry: `exporter_registry()`), scraped as
its own Prometheus job; the web's `/metrics` carries only django-prometheus' HTTP and database
metrics, which are per process and are meant to be summed. A separate exporter was chosen over a
"labelled target" (one web instance flagged to expose the totals) because it leaves nothing for a
query to remember to filter, the web scrape never waits on Redis, the exporter restarts without
resetting anything (the counts stay in Redis), and even two exporters for redundancy stay correct
with the `max by (county)` queries in deploy/.

HTTP metrics across gunicorn workers. Each gunicorn worker is a process with its own counters;
deploy/gunicorn.conf.py turns on prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR),
and django-prometheus' view then sums every worker's files, live and dead, so whichever worker
answers a scrape gives the same total and a recycled worker causes no counter reset.

Nothing here talks to Redis at import or when a registry is built; only a scrape (collect) does.
"""

import functools
import hmac
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

logger = logging.getLogger(__name__)

DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, float("inf"))
_KEY = "terrafusion:metrics:jobs:{kind}"
# A scrape that waits on a hung Redis longer than this gives up (Prometheus' own timeout is 10 s).
SCRAPE_REDIS_TIMEOUT_SECONDS = 5


@functools.cache
def _counters_redis(url: str, timeout: float | None = None):
    """The platform's Redis (REDIS_URL), where the job counters live. Not a queue's connection: a job whose
    queue cannot be reached is still counted (as submitted and failed) while the platform's Redis is up."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def _redis():
    return _counters_redis(settings.REDIS_URL)


def _scrape_connection(queue_name: str):
    """A Redis client for reading at scrape time: lazy (no I/O until used), with socket timeouts."""
    import django_rq

    connection = django_rq.get_connection(queue_name)
    # django-rq builds the client from RQ_QUEUES without timeouts; every connection the pool opens
    # later takes these, so a hung Redis fails the read instead of hanging a scrape thread.
    connection.connection_pool.connection_kwargs.setdefault("socket_timeout", SCRAPE_REDIS_TIMEOUT_SECONDS)
    connection.connection_pool.connection_kwargs.setdefault("socket_connect_timeout", SCRAPE_REDIS_TIMEOUT_SECONDS)
    return connection


def metric_kind(kind: str) -> str:
    return kind.replace("-", "_")


def _bucket_label(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


def _series(county: str, extra: tuple[str, ...]) -> str:
    """A series' label values as one hash-field part: the county, then the kind's own labels (JobKind.metric_labels)."""
    return ",".join((county, *extra))


def record_submitted(kind: str, county: str, extra: tuple[str, ...] = ()) -> None:
    _redis().hincrby(_KEY.format(kind=metric_kind(kind)), f"submitted|{_series(county, extra)}", 1)


def record_finished(kind: str, county: str, *, ok: bool, duration: float, extra: tuple[str, ...] = ()) -> None:
    key, series = _KEY.format(kind=metric_kind(kind)), _series(county, extra)
    pipe = _redis().pipeline(transaction=True)
    pipe.hincrby(key, f"{'completed' if ok else 'failed'}|{series}", 1)
    pipe.hincrbyfloat(key, f"duration_sum|{series}", duration)
    for bound in DURATION_BUCKETS:
        if duration <= bound:
            pipe.hincrby(key, f"duration_bucket|{series}|{_bucket_label(bound)}", 1)
    pipe.execute()


class JobMetricsCollector:
    """Reads the job counters from Redis at scrape time."""

    def __init__(self):
        self._connection = None  # made at the first scrape, then reused: building a registry does no I/O

    def describe(self):
        # Registering calls describe() (or, failing that, collect()); no names up front keeps
        # registration free of Redis.
        return []

    def collect(self):
        from terrafusion.jobs.registry import job_kinds

        try:
            if self._connection is None:
                self._connection = _counters_redis(settings.REDIS_URL, SCRAPE_REDIS_TIMEOUT_SECONDS)
            kinds = job_kinds()
            pipe = self._connection.pipeline(transaction=False)
            for kind in kinds:
                pipe.hgetall(_KEY.format(kind=metric_kind(kind.slug)))
            hashes = pipe.execute()
        except Exception:  # a scrape must not fail because Redis is down; health/ready reports that
            logger.exception("Could not read job metrics from Redis")
            return
        for kind, raw in zip(kinds, hashes, strict=True):
            name, labels = metric_kind(kind.slug), ["county", *kind.metric_labels]
            values = {k.decode(): float(v) for k, v in raw.items()}
            families = {
                event: CounterMetricFamily(f"{name}_jobs_{event}", f"{name} jobs {event}", labels=labels)
                for event in ("submitted", "completed", "failed")
            }
            histogram = HistogramMetricFamily(
                f"{name}_processing_duration_seconds", f"Time {name} jobs spent in a worker", labels=labels
            )
            for series in sorted({field.split("|")[1] for field in values}):
                label_values = series.split(",")
                if len(label_values) != len(labels):  # counted before the kind had its labels: not this family's
                    continue
                for event, family in families.items():
                    family.add_metric(label_values, values.get(f"{event}|{series}", 0.0))
                cumulative = 0.0
                buckets = []
                for bound in DURATION_BUCKETS:
                    # Buckets are stored cumulatively already (each observation counts into every
                    # bucket whose bound it is under).
                    cumulative = values.get(f"duration_bucket|{series}|{_bucket_label(bound)}", cumulative)
                    buckets.append((_bucket_label(bound), cumulative))
                histogram.add_metric(label_values, buckets, values.get(f"duration_sum|{series}", 0.0))
            yield from families.values()
            yield histogram


class QueueMetricsCollector:
    """Queue depth, started and failed registries, and live workers, per RQ queue."""

    def __init__(self):
        self._connections: dict = {}

    def describe(self):
        return []

    def _connection(self, name: str):
        if name not in self._connections:
            self._connections[name] = _scrape_connection(name)
        return self._connections[name]

    def collect(self):
        from rq import Queue, Worker

        depth = GaugeMetricFamily("rq_queue_jobs", "Jobs in an RQ queue by state", labels=["queue", "state"])
        workers = GaugeMetricFamily("rq_workers", "Live RQ workers")
        try:
            for name in settings.RQ_QUEUES:
                queue = Queue(name, connection=self._connection(name))
                depth.add_metric([name, "queued"], queue.count)
                depth.add_metric([name, "started"], queue.started_job_registry.count)
                depth.add_metric([name, "failed"], queue.failed_job_registry.count)
                depth.add_metric([name, "scheduled"], queue.scheduled_job_registry.count)
            workers.add_metric([], Worker.count(connection=self._connection("default")))
        except Exception:
            logger.exception("Could not read queue metrics from Redis")
            return
        yield depth
        yield workers


def exporter_registry() -> CollectorRegistry:
    """The job and queue collectors in a registry of their own, for `manage.py metrics_exporter` only."""
    registry = CollectorRegistry()
    registry.register(JobMetricsCollector())
    registry.register(QueueMetricsCollector())
    return registry


def bearer_token_ok(authorization: str, *, token: str) -> bool:
    """True when no token is configured, or the Authorization header carries exactly `Bearer <token>`."""
    if not token:
        return True
    scheme, _, given = authorization.partition(" ")
    return scheme == "Bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def exporter_app(*, registry: CollectorRegistry, token: str) -> Callable:
    """WSGI app of the exporter: GET /metrics from `registry`, behind the bearer token when one is set."""
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not found: the metrics are at /metrics\n"]
        if not bearer_token_ok(environ.get("HTTP_AUTHORIZATION", ""), token=token):
            start_response(
                "401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')]
            )
            return [b"Unauthorized\n"]
        return metrics_app(environ, start_response)

    return app


def metrics_view(request):
    """The web's /metrics (HTTP and DB, summed over gunicorn workers); with METRICS_TOKEN, bearer only."""
    from django.http import HttpResponse
    from django_prometheus.exports import ExportToDjangoView

    if not bearer_token_ok(request.headers.get("Authorization", ""), token=settings.METRICS_TOKEN):
        return HttpResponse("Unauthorized\n", status=401, content_type="text/plain",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})  # fmt: skip
    # With PROMETHEUS_MULTIPROC_DIR set (deploy/gunicorn.conf.py), django-prometheus reads every
    # worker's files into a fresh registry; without it (runserver, tests), this process' registry.
    return ExportToDjangoView(request)
