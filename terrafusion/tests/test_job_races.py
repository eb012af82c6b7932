"""The jobs framework's races: a long combine keeps heartbeating, a finish that loses to the sweep is
visible, a job whose queue is unreachable is failed (in the row, the 202 and the metrics), and starting
jobs is rate-limited and capped per user."""

import time
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from reporting.jobs import REPORT_JOBS, ReportJobRunner
from reporting.models import ReportJob
from terrafusion.jobs.models import JobStatus
from terrafusion.jobs.runner import execute_chunk, execute_job, job_finish
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import user_with_role


@pytest.mark.django_db(transaction=True)
def test_a_long_combine_keeps_heartbeating(county, settings, monkeypatch):
    settings.JOB_HEARTBEAT_SECONDS = 1
    job = ReportJob.objects.create(
        county=county, status=JobStatus.RUNNING, chunks_total=1, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    seen = {}

    class SlowCombine(ReportJobRunner):
        def combine(self, results):
            seen["combine started"] = timezone.now()
            time.sleep(2.5)  # longer than two heartbeat intervals
            seen["heartbeat"] = ReportJob.objects.get(pk=job.pk).heartbeat_at
            return super().combine(results)

    monkeypatch.setattr(REPORT_JOBS, "runner", SlowCombine)
    assert execute_chunk(ReportJob._meta.label, str(job.pk), 0, {"neighborhood_ids": [None]}) == "completed"
    assert seen["heartbeat"] > seen["combine started"] + timedelta(seconds=0.5)
    assert ReportJob.objects.get(pk=job.pk).status == JobStatus.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_a_finish_that_loses_to_the_sweep_is_logged_not_silent(county, monkeypatch, caplog):
    job = ReportJob.objects.create(county=county)

    class SweptWhileRunning(ReportJobRunner):
        def run(self):
            # What the sweep does to a job whose heartbeats it missed (e.g. a long pause of the worker).
            job_finish(self.job, ok=False, error_message="The worker stopped responding.")
            return {"late": True}

    monkeypatch.setattr(REPORT_JOBS, "runner", SweptWhileRunning)
    outcome = execute_job(ReportJob._meta.label, str(job.pk))
    job.refresh_from_db()
    assert outcome.startswith("finished too late")
    assert (job.status, job.error_message, job.result) == (JobStatus.FAILED, "The worker stopped responding.", None)
    last = job.log[-1]
    assert last["level"] == "warning"
    assert "completed the job, but it had already been marked failed" in last["message"]
    assert any("already been marked failed" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db(transaction=True)  # autocommit, as in production: the hand-off runs inside the request
def test_a_job_whose_queue_is_unreachable_is_failed_in_its_202_and_counted(county, settings):
    import redis

    metrics_redis = redis.Redis.from_url(settings.REDIS_URL)
    analyst = user_with_role(county, "analyst")
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}  # nothing listens on port 1
    response = bearer_client(analyst).post(
        reverse("api:reporting-job-list"), {"county": county.slug, "parameters": {}}, format="json"
    )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "failed"
    assert "could not be queued" in body["error_message"]
    assert body["finished_at"] is not None
    counts = metrics_redis.hgetall("terrafusion:metrics:jobs:reporting")  # the platform's Redis is up
    # The series: the county, then the kind's own labels (a report's type).
    assert counts[f"submitted|{county.slug},county_summary".encode()] == b"1"
    assert counts[f"failed|{county.slug},county_summary".encode()] == b"1"


@pytest.mark.django_db
def test_starting_jobs_is_capped_per_user(county, settings, django_capture_on_commit_callbacks):
    settings.JOB_MAX_UNFINISHED_PER_USER = 2
    client = bearer_client(user_with_role(county, "analyst"))
    url = reverse("api:reporting-job-list")
    for _ in range(2):
        assert client.post(url, {"county": county.slug}, format="json").status_code == 202
    refused = client.post(url, {"county": county.slug}, format="json")
    assert refused.status_code == 429
    assert "2 jobs pending or running" in refused.json()["error"]["message"]
    assert ReportJob.objects.count() == 2
    ReportJob.objects.update(status=JobStatus.COMPLETED)  # finished jobs no longer count
    assert client.post(url, {"county": county.slug}, format="json").status_code == 202


@pytest.mark.django_db
def test_starting_jobs_has_its_own_rate(county, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "job_create": "2/min"},
    }
    client = bearer_client(user_with_role(county, "analyst"))
    url = reverse("api:reporting-job-list")
    statuses = [client.post(url, {"county": county.slug}, format="json").status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    assert ReportJob.objects.count() == 2
    assert client.get(url).status_code == 200  # reading is not starting: not held back by the job rate


@pytest.mark.django_db
def test_a_file_made_after_the_sweep_failed_the_job_is_not_attached(county):
    job = ReportJob.objects.create(county=county, status=JobStatus.RUNNING, started_at=timezone.now())
    runner = REPORT_JOBS.runner(job)
    job_finish(ReportJob.objects.get(pk=job.pk), ok=False, error_message="The worker stopped responding.")
    runner.save_file("late.csv", b"too late\n")
    job.refresh_from_db()
    assert job.files == []
    assert not default_storage.exists(f"jobs/reporting/{county.slug}/{job.pk}/late.csv")  # and not left on disk


@pytest.mark.django_db
def test_a_job_keeps_several_named_files_and_a_name_saved_again_replaces_its_file(county):
    job = ReportJob.objects.create(county=county, status=JobStatus.RUNNING, started_at=timezone.now())
    runner = REPORT_JOBS.runner(job)
    runner.save_file("table.csv", b"a,b\n", title="The table")
    runner.save_file("chart.png", b"\x89PNG first")
    runner.save_file("chart.png", b"\x89PNG second")
    job.refresh_from_db()
    assert [(f["name"], f["title"], f["content_type"], f["size"]) for f in job.files] == [
        ("table.csv", "The table", "text/csv", 4),
        ("chart.png", "chart.png", "image/png", 11),
    ]
    assert job.main_file["name"] == "table.csv"
    with default_storage.open(job.file("chart.png")["path"]) as stored:
        assert stored.read() == b"\x89PNG second"
    folder = f"jobs/reporting/{county.slug}/{job.pk}"
    stored_names = sorted(f"{folder}/{name}" for name in default_storage.listdir(folder)[1])
    assert stored_names == sorted(f["path"] for f in job.files)  # the replaced file is gone from storage
    with pytest.raises(ValueError, match="letters, digits"):
        runner.save_file("../escape.csv", b"")
