"""The job lifecycle in real RQ worker processes: run, fail, cancel, a killed worker, the sweep, metrics.

The jobs are the reporting county summary, the first real job kind. These tests commit (the worker
is another process and must see the rows), so they use transactional test cases.
"""

import csv
import io
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from prometheus_client import generate_latest

from reporting.models import ReportJob
from terrafusion.jobs.models import JobStatus
from terrafusion.jobs.runner import job_enqueue
from terrafusion.jobs.sweep import sweep_stale_jobs
from terrafusion.metrics import exporter_registry
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import CountyFactory, NeighborhoodFactory, PropertyFactory, user_with_role
from terrafusion.testing.workers import (
    kill_worker,
    run_burst_worker,
    start_burst_worker,
    start_worker,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def benton(db):
    county = CountyFactory(slug="benton-wa", name="Benton", fips_code="53005")
    north, south = NeighborhoodFactory(county=county, code="N"), NeighborhoodFactory(county=county, code="S")
    for neighborhood, class_code, value in [(north, "11", 300000), (north, "11", 200000), (south, "51", 900000)]:
        PropertyFactory(
            county=county,
            neighborhood=neighborhood,
            class_code=class_code,
            land_value=value // 4,
            improvement_value=value - value // 4,
            market_value=value,
            assessed_value=value,
        )
    PropertyFactory(county=county, neighborhood=south, is_active=False, market_value=10**9)  # not counted
    return county


@pytest.fixture
def analyst(benton):
    return user_with_role(benton, "analyst", username="analyst")


def scrape_metrics(client) -> str:
    """What `manage.py metrics_exporter` serves (the web's /metrics no longer carries job counters)."""
    return generate_latest(exporter_registry()).decode()


def test_county_summary_end_to_end_in_a_real_worker(benton, analyst, client):
    api = bearer_client(analyst)
    response = api.post(reverse("api:reporting-job-list"), {"county": "benton-wa"}, format="json")
    assert response.status_code == 202, response.content
    job_url = response["Location"]
    assert response.json()["status"] == "pending"

    premature = api.get(response.json()["results_url"])
    assert premature.status_code == 409
    assert "pending" in premature.json()["error"]["message"]

    # The summary runs in parts (neighborhood groups); two workers share them.
    workers = [start_burst_worker(), start_burst_worker()]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0]

    job = api.get(job_url).json()
    assert job["status"] == "completed", job
    row = ReportJob.objects.get(pk=job["id"])
    assert (row.chunks_total, row.chunks_done) == (3, 3)  # no-neighborhood, N and S
    assert any(entry["message"] == "Split into 3 parts." for entry in job["log"])
    assert job["progress"] == 1.0 and job["started_at"] and job["finished_at"]
    assert job["log"][0]["message"].startswith("Started on")

    result = api.get(job["results_url"]).json()["result"]
    assert result["totals"]["parcels"] == 3
    assert result["totals"]["market_value"] == 1_400_000
    assert result["by_neighborhood"] == {
        "N": {"parcels": 2, "market_value": 500_000},
        "S": {"parcels": 1, "market_value": 900_000},
    }
    assert result["by_class"]["51"] == {"parcels": 1, "market_value": 900_000}

    download = api.get(job["download_url"])
    assert download.status_code == 200
    assert 'filename="benton-wa-county-summary.csv"' in download["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert [(r["neighborhood"], r["class_code"], r["parcels"], r["market_value"]) for r in rows] == [
        ("N", "11", "2", "500000"),
        ("S", "51", "1", "900000"),
    ]

    metrics = scrape_metrics(client)  # counted in the worker process, read by the exporter
    assert 'reporting_jobs_submitted_total{county="benton-wa",report_type="county_summary"} 1.0' in metrics
    assert 'reporting_jobs_completed_total{county="benton-wa",report_type="county_summary"} 1.0' in metrics
    assert 'reporting_jobs_failed_total{county="benton-wa",report_type="county_summary"} 0.0' in metrics
    assert 'reporting_processing_duration_seconds_count{county="benton-wa",report_type="county_summary"} 1.0' in metrics


def test_seed_gateway_aliases(benton, analyst):
    api = bearer_client(analyst)
    response = api.post(reverse("api:reporting-run"), {"county": "benton-wa"}, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert run_burst_worker().returncode == 0
    assert api.get(reverse("api:reporting-status", args=[job_id])).json()["status"] == "completed"
    results = api.get(reverse("api:reporting-results", args=[job_id]))
    assert results.status_code == 200
    assert results.json()["result"]["totals"]["parcels"] == 3


def test_a_failing_job_records_a_readable_error_and_its_traceback(benton, analyst, client):
    job = job_enqueue(
        model=ReportJob, county=benton, requested_by=analyst, parameters={"report_type": "no-such-report"}
    )
    worker = run_burst_worker()
    assert worker.returncode == 0, worker.stderr
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error_message == "Unknown report type 'no-such-report'."
    assert "Traceback" in job.log[-1]["message"] and job.log[-1]["level"] == "error"
    results = bearer_client(analyst).get(reverse("api:reporting-job-results", args=[job.pk]))
    assert results.status_code == 409
    assert "Unknown report type" in results.json()["error"]["message"]
    assert 'reporting_jobs_failed_total{county="benton-wa",report_type="no-such-report"} 1.0' in scrape_metrics(client)


def test_invalid_parameters_are_refused_before_anything_is_queued(benton, analyst):
    response = bearer_client(analyst).post(
        reverse("api:reporting-job-list"), {"county": "benton-wa", "parameters": {"report_type": "x"}}, format="json"
    )
    assert response.status_code == 400
    assert "parameters.report_type" in response.json()["error"]["fields"]
    assert not ReportJob.objects.exists()


def test_a_cancelled_job_is_not_run(benton, analyst):
    api = bearer_client(analyst)
    job_id = api.post(reverse("api:reporting-job-list"), {"county": "benton-wa"}, format="json").json()["id"]
    assert api.post(reverse("api:reporting-job-cancel", args=[job_id])).json()["status"] == "cancelled"
    assert run_burst_worker().returncode == 0
    assert ReportJob.objects.get(pk=job_id).status == JobStatus.CANCELLED
    assert api.post(reverse("api:reporting-job-cancel", args=[job_id])).status_code == 409


def test_a_killed_worker_never_leaves_its_job_running(benton, analyst, settings):
    """SIGKILL the worker mid-job: the sweep fails the job once its heartbeat is stale."""
    db = connection.settings_dict
    # Hold a lock the summary query needs, so the job is still running when the worker is killed.
    locker = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"], autocommit=False
    )
    try:
        locker.execute("LOCK TABLE properties_property IN ACCESS EXCLUSIVE MODE")
        job = job_enqueue(model=ReportJob, county=benton, requested_by=analyst)
        worker = start_worker()
        try:
            wait_for(lambda: ReportJob.objects.get(pk=job.pk).status == JobStatus.RUNNING, what="the job to start")
            first_beat = ReportJob.objects.get(pk=job.pk).heartbeat_at
            wait_for(
                lambda: ReportJob.objects.get(pk=job.pk).heartbeat_at > first_beat,
                what="a heartbeat while the job waits",
            )
        finally:
            kill_worker(worker)
    finally:
        locker.rollback()
        locker.close()

    settings.JOB_STALE_AFTER_SECONDS = 60
    assert sweep_stale_jobs() == {}  # its last heartbeat is recent: not yet judged dead
    # Another worker runs the parts still queued; the part that died with its worker never ends.
    assert run_burst_worker().returncode == 0
    assert ReportJob.objects.get(pk=job.pk).status == JobStatus.RUNNING
    settings.JOB_STALE_AFTER_SECONDS = 2
    wait_for(lambda: sweep_stale_jobs() == {"reporting": 1}, timeout=10, what="the sweep to fail the job")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "stopped responding" in job.error_message
    assert job.finished_at is not None
    assert sweep_stale_jobs() == {}  # a second sweep finds nothing more


def test_a_failing_part_fails_the_job_and_the_other_parts_skip(benton):
    import django_rq

    from terrafusion.jobs.runner import chunk_rq_id, execute_chunk

    job = ReportJob.objects.create(county=benton, status=JobStatus.RUNNING, chunks_total=2, started_at=timezone.now())
    queue = django_rq.get_queue("default")
    label, job_id = ReportJob._meta.label, str(job.pk)
    queue.enqueue(execute_chunk, label, job_id, 0, {"wrong": "shape"}, job_id=chunk_rq_id(job.pk, 0))
    queue.enqueue(execute_chunk, label, job_id, 1, {"neighborhood_ids": [None]}, job_id=chunk_rq_id(job.pk, 1))
    assert run_burst_worker().returncode == 0
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error_message == "Part 1 of 2 failed: 'neighborhood_ids'"
    assert job.chunks_done == 0  # the second part saw the failure and did nothing


def test_the_sweep_waits_for_queued_parts_but_not_for_lost_ones(benton, settings):
    import django_rq

    from terrafusion.jobs.runner import chunk_rq_id, execute_chunk

    settings.JOB_STALE_AFTER_SECONDS = 2
    long_ago = timezone.now() - timedelta(minutes=5)
    job = ReportJob.objects.create(county=benton, status=JobStatus.RUNNING, chunks_total=1, heartbeat_at=long_ago)
    part = django_rq.get_queue("default").enqueue(
        execute_chunk, ReportJob._meta.label, str(job.pk), 0, {}, job_id=chunk_rq_id(job.pk, 0)
    )
    assert sweep_stale_jobs() == {}  # waiting for a free worker is not death
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.heartbeat_at > long_ago
    part.delete()
    ReportJob.objects.filter(pk=job.pk).update(heartbeat_at=long_ago)
    assert sweep_stale_jobs() == {"reporting": 1}


def test_the_sweep_fails_a_pending_job_lost_from_the_queue(benton):
    job = ReportJob.objects.create(county=benton, rq_job_id="never-queued")
    ReportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    queued = job_enqueue(model=ReportJob, county=benton)  # really in the queue: left alone
    ReportJob.objects.filter(pk=queued.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert sweep_stale_jobs() == {"reporting": 1}
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "never started" in job.error_message
    assert ReportJob.objects.get(pk=queued.pk).status == JobStatus.PENDING


def test_the_cron_schedule_runs_the_sweep():
    from rq import cron

    from terrafusion import cron as schedule

    registered = {job["name"]: job for job in cron._job_data_registry if job["func"] is schedule.sweep_stale_jobs}
    assert registered["sweep_stale_jobs"]["interval"] > 0


def test_a_part_run_twice_is_counted_once(benton):
    import django_rq

    from terrafusion.jobs.runner import execute_chunk

    job = ReportJob.objects.create(county=benton, status=JobStatus.RUNNING, chunks_total=2, started_at=timezone.now())
    queue = django_rq.get_queue("default")
    args = (ReportJob._meta.label, str(job.pk))
    north = list(benton.neighborhoods.filter(code="N").values_list("id", flat=True))
    queue.enqueue(execute_chunk, *args, 0, {"neighborhood_ids": [None, *north]})
    queue.enqueue(execute_chunk, *args, 0, {"neighborhood_ids": [None, *north]})  # requeued by hand
    assert run_burst_worker().returncode == 0
    job.refresh_from_db()
    assert (job.status, job.chunks_done) == (JobStatus.RUNNING, 1)
    south = list(benton.neighborhoods.filter(code="S").values_list("id", flat=True))
    queue.enqueue(execute_chunk, *args, 1, {"neighborhood_ids": south})
    assert run_burst_worker().returncode == 0
    job.refresh_from_db()
    assert (job.status, job.chunks_done) == (JobStatus.COMPLETED, 2)
    assert job.result["totals"]["parcels"] == 3
