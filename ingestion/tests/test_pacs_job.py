"""The PACS load as a job: started through the API by whoever may run ingestion in the county, run in parts by a
real RQ worker reading the county's PACS, its counts and rejects in the results."""

import pytest
from django.urls import reverse

from ingestion.models import IngestionJob, IngestionReject
from ingestion.tests.test_pacs_load import PARCELS
from properties.models import Property
from terrafusion.jobs.models import JobStatus
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import user_with_role
from terrafusion.testing.pacs import pacs_fill, pacs_url
from terrafusion.testing.workers import run_burst_worker

pytestmark = [pytest.mark.django_db(databases=["default", "pacs"], transaction=True), pytest.mark.worker]


@pytest.fixture
def fake(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return pacs_fill(properties=PARCELS, years=[2025, 2026], seed=11)


def start(user, parameters):
    return bearer_client(user).post(
        reverse("api:ingestion-job-list"), {"county": "benton-wa", "parameters": parameters}, format="json"
    )


def test_a_data_steward_loads_pacs_through_the_api_in_parts(fake, county):
    steward = user_with_role(county, "data_steward", username="steward")
    response = start(steward, {"operation": "pacs_bulk_load", "roll_year": 2026})
    assert response.status_code == 202, response.content
    worker = run_burst_worker(PACS_DATABASE_URL=pacs_url(), PACS_CHUNK_PROPERTIES="120")
    assert worker.returncode == 0, worker.stderr[-2000:]
    job = IngestionJob.objects.get(pk=response.json()["id"])
    assert job.status == JobStatus.COMPLETED, (job.error_message, job.log[-3:])
    assert job.chunks_total >= 3  # cut into parts, run by the worker, combined
    result = bearer_client(steward).get(reverse("api:ingestion-job-results", args=[job.pk])).json()["result"]
    assert result["inserted"] == PARCELS == Property.objects.filter(county=county).count()
    assert result["rejected"] == IngestionReject.objects.filter(job=job).count() > 0
    assert result["first_rejects"][0].keys() >= {"table", "key", "field", "reason", "value"}


def test_only_who_may_run_ingestion_starts_a_load(fake, county, other_county):
    viewer = user_with_role(county, "viewer", username="looker")
    assert start(viewer, {"operation": "pacs_bulk_load"}).status_code == 403
    stranger = user_with_role(other_county, "data_steward", username="stranger")
    assert start(stranger, {"operation": "pacs_bulk_load"}).status_code in (400, 403, 404)
    assert not IngestionJob.objects.exists()


def test_a_load_without_pacs_fails_with_a_message_an_operator_understands(county):
    steward = user_with_role(county, "data_steward", username="steward")
    response = start(steward, {"operation": "pacs_sync"})
    assert response.status_code == 202
    assert run_burst_worker(PACS_DATABASE_URL="").returncode == 0
    job = IngestionJob.objects.get(pk=response.json()["id"])
    assert job.status == JobStatus.FAILED
    assert job.error_message == "PACS is not configured: set PACS_DATABASE_URL (see README, Configuration)."
