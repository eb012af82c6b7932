"""Metrics count once: job and queue figures from the one exporter, HTTP figures summed over gunicorn workers.

The end-to-end test runs what production runs (gunicorn with deploy/gunicorn.conf.py, RQ workers,
`manage.py metrics_exporter`) against the test database and Redis, and checks exact totals.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import yaml
from django.conf import settings
from django.urls import reverse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.multiprocess import MultiProcessCollector

from reporting.models import ReportJob
from terrafusion import metrics
from terrafusion.jobs.models import JobStatus
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import CountyFactory, PropertyFactory, user_with_role
from terrafusion.testing.workers import MANAGE, start_burst_worker, wait_for, worker_environment

BASE = Path(settings.BASE_DIR)
GUNICORN_CONF = BASE / "deploy" / "gunicorn.conf.py"
HTTP_COUNTER = "django_http_requests_total_by_view_transport_method_total"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, *, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http:// URLs of our own test servers
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def sample(text: str, line_start: str) -> float | None:
    """The value of the exposition line that starts with `line_start` (name and labels), or None."""
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


class SilentSocket:
    """A TCP listener that accepts connections (the kernel does) and never answers: a hung Redis."""

    def __enter__(self) -> str:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        return f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"

    def __exit__(self, *exc_info) -> None:
        self.sock.close()


# --- registration never talks to Redis -----------------------------------------------------------


def test_building_the_exporter_registry_does_not_touch_redis(settings):
    with SilentSocket() as hung:
        settings.RQ_QUEUES = {"default": {"URL": hung}}
        settings.REDIS_URL = hung
        started = time.monotonic()
        registry = metrics.exporter_registry()
        assert time.monotonic() - started < 0.5
    assert isinstance(registry, CollectorRegistry)


def test_a_scrape_with_redis_down_or_hung_answers_without_job_figures(settings, monkeypatch, caplog):
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}  # nothing listens on port 1: refused
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # the job counters' Redis
    text = generate_latest(metrics.exporter_registry()).decode()
    assert "_jobs_submitted_total" not in text and "rq_queue_jobs" not in text
    assert "Could not read job metrics from Redis" in caplog.text

    monkeypatch.setattr(metrics, "SCRAPE_REDIS_TIMEOUT_SECONDS", 0.5)
    with SilentSocket() as hung:
        settings.RQ_QUEUES = {"default": {"URL": hung}}
        settings.REDIS_URL = hung
        started = time.monotonic()
        text = generate_latest(metrics.exporter_registry()).decode()
        elapsed = time.monotonic() - started
    assert "_jobs_submitted_total" not in text
    assert elapsed < 5, "a hung Redis must time out the scrape, not hang it"


def test_starting_the_project_with_a_hung_redis_neither_blocks_nor_fails():
    """App loading (every AppConfig.ready) and building the exporter registry, in a fresh process."""
    code = (
        "import django; django.setup();"
        "from django.core.management import call_command; call_command('check');"
        "from terrafusion import metrics; metrics.exporter_registry(); print('started')"
    )
    with SilentSocket() as hung:
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=BASE,
            env={**os.environ, "REDIS_URL": hung, "DJANGO_SETTINGS_MODULE": "terrafusion.settings"},
            capture_output=True,
            text=True,
            timeout=60,  # a connection attempt without a timeout would hang here for ever
        )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


# --- the exporter: job counters and queue gauges, once, behind the token ---------------------------


@pytest.fixture
def exporter_url():
    """The exporter's WSGI app on a real port, with METRICS_TOKEN 'scrape-token'."""
    app = metrics.exporter_app(registry=metrics.exporter_registry(), token="scrape-token")

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_exporter_exposes_job_counters_and_queue_gauges_behind_the_token(exporter_url):
    for _ in range(3):
        metrics.record_submitted("reporting", "benton-wa", ("county_summary",))
    metrics.record_finished("reporting", "benton-wa", ok=True, duration=0.3, extra=("county_summary",))
    metrics.record_finished("reporting", "benton-wa", ok=False, duration=7, extra=("county_summary",))
    metrics.record_submitted("reporting", "franklin-wa", ("assessment_roll",))

    assert http_get(f"{exporter_url}/metrics")[0] == 401
    assert http_get(f"{exporter_url}/metrics", token="wrong")[0] == 401
    assert http_get(f"{exporter_url}/elsewhere", token="scrape-token")[0] == 404
    status, text = http_get(f"{exporter_url}/metrics", token="scrape-token")
    assert status == 200
    assert sample(text, 'reporting_jobs_submitted_total{county="benton-wa",report_type="county_summary"}') == 3
    assert sample(text, 'reporting_jobs_completed_total{county="benton-wa",report_type="county_summary"}') == 1
    assert sample(text, 'reporting_jobs_failed_total{county="benton-wa",report_type="county_summary"}') == 1
    assert (
        sample(
            text,
            'reporting_processing_duration_seconds_bucket{county="benton-wa",le="0.5",report_type="county_summary"}',
        )
        == 1
    )
    assert (
        sample(
            text,
            'reporting_processing_duration_seconds_bucket{county="benton-wa",le="15.0",report_type="county_summary"}',
        )
        == 2
    )
    assert sample(
        text, 'reporting_processing_duration_seconds_sum{county="benton-wa",report_type="county_summary"}'
    ) == pytest.approx(7.3)
    assert sample(text, 'reporting_jobs_submitted_total{county="franklin-wa",report_type="assessment_roll"}') == 1
    assert sample(text, 'rq_queue_jobs{queue="default",state="queued"}') == 0
    assert sample(text, "rq_workers") == 0
    assert "django_http_requests" not in text  # HTTP figures belong to the web processes


def test_exporter_command_refuses_a_bad_bind():
    result = subprocess.run(
        [sys.executable, str(MANAGE), "metrics_exporter", "--bind", "nowhere"],
        cwd=BASE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--bind 'nowhere' is not host:port" in result.stderr


# --- deploy/: each figure queried from the one scrape job that has it -----------------------------


def deploy_expressions() -> list[str]:
    dashboard = json.loads((BASE / "deploy" / "grafana-dashboard.json").read_text())
    rules = yaml.safe_load((BASE / "deploy" / "terrafusion-alerts.yml").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])] + [
        rule["expr"] for group in rules["groups"] for rule in group["rules"]
    ]


def test_deploy_queries_take_job_figures_from_the_exporter_and_http_figures_from_the_web():
    scrape_jobs = {job["job_name"] for job in yaml.safe_load((BASE / "deploy" / "prometheus.yml").read_text())[
        "scrape_configs"]}  # fmt: skip
    assert scrape_jobs == {"terrafusion-web", "terrafusion-jobs"}
    expressions = deploy_expressions()
    global_figures = [e for e in expressions if re.search(r"_jobs_\w+_total|processing_duration|rq_", e)]
    web_figures = [e for e in expressions if "django_" in e]
    assert global_figures and web_figures
    for expr in global_figures:
        assert 'job="terrafusion-jobs"' in expr, expr
        assert not re.search(r"\bsum\b", expr), f"summing a global total multiplies it by the targets: {expr}"
    for expr in web_figures:
        assert 'job="terrafusion-web"' in expr, expr


# --- end to end: 2 gunicorn workers, 2 RQ workers, the exporter, exact totals ----------------------


def wait_listening(port: int, process: subprocess.Popen, what: str, log: Path) -> None:
    def up() -> bool:
        assert process.poll() is None, f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    wait_for(up, timeout=60, what=f"{what} to listen on {port}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def gunicorn_workers(master: subprocess.Popen) -> list[int]:
    with open(f"/proc/{master.pid}/task/{master.pid}/children") as f:
        return [int(pid) for pid in f.read().split()]


def counts_per_worker(multiproc_dir: Path, scratch: Path, line_start: str) -> dict[int, float]:
    """Read each worker's counter file alone: how many of the requests that worker served."""
    counts = {}
    for path in multiproc_dir.glob("counter_*.db"):
        alone = scratch / path.stem
        alone.mkdir()
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts[int(path.stem.split("_")[1])] = sample(generate_latest(registry).decode(), line_start) or 0.0
    return counts


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_gunicorn_workers_and_two_rq_workers_count_exactly_once(tmp_path):
    county = CountyFactory(slug="benton-wa", name="Benton", fips_code="53005")
    for value in (200_000, 300_000):
        PropertyFactory(county=county, land_value=value // 4, improvement_value=value - value // 4, market_value=value)
    analyst = user_with_role(county, "analyst", username="analyst")

    web_port, exporter_port = free_port(), free_port()
    multiproc_dir = tmp_path / "prometheus"
    multiproc_dir.mkdir()
    (multiproc_dir / "counter_1.db").write_bytes(b"left over from an earlier run")  # must be wiped at start
    web_log, exporter_log = tmp_path / "gunicorn.log", tmp_path / "exporter.log"
    env = worker_environment(PROMETHEUS_MULTIPROC_DIR=str(multiproc_dir), METRICS_TOKEN="scrape-token")
    with open(web_log, "wb") as web_out, open(exporter_log, "wb") as exporter_out:
        web = subprocess.Popen(
            [Path(sys.executable).parent / "gunicorn", "-c", GUNICORN_CONF, "terrafusion.wsgi"],
            # sync workers: the deterministic split of requests below holds one worker on a half-sent request,
            # which blocks a sync worker (a gthread worker would serve others meanwhile); the metrics are the same.
            env={
                **env,
                "GUNICORN_BIND": f"127.0.0.1:{web_port}",
                "GUNICORN_WORKERS": "2",
                "GUNICORN_WORKER_CLASS": "sync",
            },
            cwd=BASE,
            stdout=web_out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        exporter = subprocess.Popen(
            [sys.executable, MANAGE, "metrics_exporter", "--bind", f"127.0.0.1:{exporter_port}"],
            env={k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
            cwd=BASE,
            stdout=exporter_out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            # M jobs, run by two RQ workers while the web and the exporter start.
            api = bearer_client(analyst)
            jobs = 3
            for _ in range(jobs):
                response = api.post(reverse("api:reporting-job-list"), {"county": "benton-wa"}, format="json")
                assert response.status_code == 202, response.content
            rq_workers = [start_burst_worker(), start_burst_worker()]

            wait_listening(web_port, web, "gunicorn", web_log)
            wait_for(lambda: len(gunicorn_workers(web)) == 2, timeout=30, what="two gunicorn workers")

            # N requests, deterministically split over both gunicorn workers: one worker takes a
            # request whose headers have not all arrived yet and waits for them; the other serves
            # the N - 1 requests meanwhile; then the first request is completed.
            requests = 12
            held = socket.create_connection(("127.0.0.1", web_port), timeout=10)
            held.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            for _ in range(requests - 1):
                connection = http.client.HTTPConnection("127.0.0.1", web_port, timeout=10)
                connection.request("GET", "/health/live")
                assert connection.getresponse().status == 200
                connection.close()
            held.sendall(b"Connection: close\r\n\r\n")
            assert held.recv(4096).startswith(b"HTTP/1.1 200")
            held.close()

            status, web_text = http_get(f"http://127.0.0.1:{web_port}/metrics", token="scrape-token")
            assert status == 200
            health = f'{HTTP_COUNTER}{{method="GET",transport="http",view="health-live"}}'
            assert sample(web_text, health) == requests  # summed over both workers' files, exactly
            assert "reporting_jobs_" not in web_text and "rq_queue_jobs" not in web_text  # only the exporter has them
            per_worker = counts_per_worker(multiproc_dir, tmp_path, health)
            assert sorted(per_worker.values()) == [1, requests - 1], per_worker  # no leftover file counted
            assert set(per_worker) == set(gunicorn_workers(web))

            # A worker that exits (recycled, crashed) takes none of the totals with it: no false reset.
            busiest = max(per_worker, key=per_worker.get)
            os.kill(busiest, signal.SIGTERM)
            wait_for(lambda: busiest not in gunicorn_workers(web) and len(gunicorn_workers(web)) == 2, timeout=30,
                     what="gunicorn to replace the worker")  # fmt: skip
            assert sample(http_get(f"http://127.0.0.1:{web_port}/metrics", token="scrape-token")[1], health) == requests

            # Job counters: counted in the RQ workers' processes, exposed once, by the exporter.
            assert [worker.wait(timeout=60) for worker in rq_workers] == [0, 0]
            assert set(ReportJob.objects.values_list("status", flat=True)) == {JobStatus.COMPLETED}
            wait_listening(exporter_port, exporter, "metrics_exporter", exporter_log)
            exporter_url = f"http://127.0.0.1:{exporter_port}/metrics"
            assert http_get(exporter_url)[0] == 401
            status, job_text = http_get(exporter_url, token="scrape-token")
            assert status == 200
            assert (
                sample(job_text, 'reporting_jobs_submitted_total{county="benton-wa",report_type="county_summary"}')
                == jobs
            )
            assert (
                sample(job_text, 'reporting_jobs_completed_total{county="benton-wa",report_type="county_summary"}')
                == jobs
            )
            assert sample(job_text, 'reporting_jobs_failed_total{county="benton-wa",report_type="county_summary"}') == 0
            assert (
                sample(
                    job_text,
                    'reporting_processing_duration_seconds_count{county="benton-wa",report_type="county_summary"}',
                )
                == jobs
            )
            assert sample(job_text, 'rq_queue_jobs{queue="default",state="queued"}') == 0
            assert HTTP_COUNTER not in job_text
        finally:
            stop(web)
            stop(exporter)
    assert web.returncode == 0, web_log.read_text()[-3000:]
