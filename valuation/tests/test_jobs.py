"""Valuation jobs in real RQ workers: a mass appraisal trained once and valued in parts (two workers take them), one
property valued with its grid, a cancelled job whose parts then write nothing, a failing part that fails the job,
and a county without sales that fails with a readable reason."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from terrafusion.jobs.models import JobStatus, JobStopped
from terrafusion.jobs.runner import execute_job
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import CountyFactory, user_with_role
from terrafusion.testing.workers import run_burst_worker, start_burst_worker
from valuation.models import ValuationJob, ValuationResult
from valuation.selectors import parcels_to_value
from valuation.services import fitted_load, parcels_value
from valuation.tests.known import known_county

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
PARTS = {"VALUATION_CHUNK_PARCELS": "100"}


@pytest.fixture
def county(db):
    return CountyFactory(slug="benton-wa", working_roll_year=2026, certified_roll_year=2025)


@pytest.fixture
def analyst(county):
    return user_with_role(county, "analyst", username="analyst")


def start(user, parameters) -> ValuationJob:
    response = bearer_client(user).post(
        reverse("api:valuation-job-list"), {"county": "benton-wa", "parameters": parameters}, format="json"
    )
    assert response.status_code == 202, response.content
    return ValuationJob.objects.get(pk=response.json()["id"])


def test_a_mass_appraisal_runs_in_parts_that_workers_share(county, analyst):
    parcels = known_county(county, parcels=360, noise=0.05)
    job = start(analyst, {"method": "comparable_sales", "holdout_share": 0.2})
    workers = [start_burst_worker(**PARTS) for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=180) == 0
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED, (job.error_message, job.log[-3:])
    assert job.chunks_total == 4  # 360 parcels in parts of 100
    assert ValuationResult.objects.filter(job=job).count() == len(parcels) == job.result["parcels"]["valued"]
    assert {f["name"] for f in job.files} == {"model.json", "comparable-sales.npz", "holdout.csv"}
    assert job.result["holdout"]["overall"]["n"] == job.result["sales"]["holdout_valued"] > 30
    results = bearer_client(analyst).get(reverse("api:valuation-job-results", args=[job.pk]))
    assert results.json()["result"]["method"] == "comparable_sales"


def test_one_property_is_valued_with_its_grid(county, analyst):
    parcels = known_county(county, parcels=80, noise=0.05)
    job = start(analyst, {"method": "comparable_sales", "property": parcels[5].pk})
    assert run_burst_worker().returncode == 0
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED, (job.error_message, job.log[-3:])
    grid = job.result["explanation"]
    assert len(grid["comparables"]) == 5 and grid["value"] == ValuationResult.objects.get(job=job).estimate
    assert job.result["sales"]["holdout"] == 0  # one property: every sale is evidence


def test_a_cancelled_job_stops_its_parts(county, analyst, settings):
    settings.VALUATION_CHUNK_PARCELS = 100
    known_county(county, parcels=300, noise=0.05)
    job = start(analyst, {"method": "hedonic"})
    execute_job(ValuationJob._meta.label, str(job.pk))  # trains and splits, as a worker would, leaving 3 parts queued
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.chunks_total == 3
    cancelled = bearer_client(analyst).post(reverse("api:valuation-job-cancel", args=[job.pk]))
    assert cancelled.json()["status"] == "cancelled"
    assert run_burst_worker(**PARTS).returncode == 0
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and not ValuationResult.objects.filter(job=job).exists()

    # A part already valuing when the job is cancelled writes nothing either.
    fitted = fitted_load(job)
    with pytest.raises(JobStopped):
        parcels_value(county=county, job=job, fitted=fitted, roll_year=2026, parcels=parcels_to_value(county=county))
    assert not ValuationResult.objects.filter(job=job).exists()


def test_a_failing_part_fails_the_job_with_its_reason(county, analyst, settings):
    settings.VALUATION_CHUNK_PARCELS = 100
    known_county(county, parcels=300, noise=0.05)
    job = start(analyst, {"method": "hedonic"})
    execute_job(ValuationJob._meta.label, str(job.pk))
    job.refresh_from_db()
    default_storage.delete(job.file("model.json")["path"])  # the kept model is lost
    assert run_burst_worker(**PARTS).returncode == 0
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error_message.startswith("Part 1 of 3 failed:") and "model.json" in job.error_message


def test_a_county_without_valid_sales_fails_with_a_readable_reason(county, analyst):
    job = start(analyst, {"method": "gbm"})
    assert run_burst_worker().returncode == 0
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "has no valid sales with a land area" in job.error_message and "nothing to train" in job.error_message
