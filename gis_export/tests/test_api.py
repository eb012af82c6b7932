"""GIS export jobs through the API: refused parameters never reach the queue; a real worker writes the file; who may
download it, until it expires; the metrics by county and format."""

import datetime

import pyogrio
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest

from counties.models import County
from gis_export.models import GisExportJob
from properties.demo import demo_county_generate
from properties.models import Property
from terrafusion import metrics
from terrafusion.jobs.models import JobStatus
from terrafusion.jobs.sweep import expired_files_delete
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import CountyFactory, user_with_role
from terrafusion.testing.workers import run_burst_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def county(db):
    demo_county_generate(slug="demo", parcels=120, seed=4, working_year=2026)
    return County.objects.get(slug="demo")


@pytest.fixture
def gis_analyst(county):
    return user_with_role(county, "gis_analyst", username="gis")


def submit(user, parameters, slug="demo"):
    return bearer_client(user).post(
        reverse("api:gis-export-job-list"), {"county": slug, "parameters": parameters}, format="json"
    )


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"format": "dwg"}, "parameters.format"),
        ({"attributes": ["parcel_number", "zoning"]}, "parameters.attributes.1"),
        ({"crs": "EPSG:999999"}, "parameters.crs"),
        ({"crs": "WGS84"}, "parameters.crs"),
        ({"crs": "EPSG:5703"}, "parameters.crs"),  # a vertical datum: no place to put a parcel
        ({"format": "kml", "crs": "EPSG:2927"}, "parameters.crs"),
        ({"filters": {"bbox": [1, 2, 0, 3]}}, "parameters.filters.bbox"),
        ({"filters": {"min_value": 10, "max_value": 5}}, "parameters.filters.max_value"),
    ],
)
def test_bad_parameters_are_refused_before_any_job_is_queued(county, gis_analyst, parameters, field):
    response = submit(gis_analyst, parameters)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert not GisExportJob.objects.exists()


def test_an_export_runs_in_a_worker_and_downloads_for_those_who_may_view_the_county(county, gis_analyst, tmp_path):
    response = submit(gis_analyst, {"format": "geojson", "attributes": ["parcel_number", "values"], "crs": "local"})
    assert response.status_code == 202, response.content
    job = GisExportJob.objects.get(pk=response.json()["id"])
    assert job.parameters["filters"] == {"active": True} and job.parameters["crs"] == "local"
    assert run_burst_worker().returncode == 0
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED, (job.error_message, job.log[-3:])
    active = Property.objects.filter(county=county, is_active=True).count()
    assert job.result["parcels"] == active and job.result["crs"] == "EPSG:2927"
    assert job.files[0]["name"] == "parcels.geojson" and job.files[0]["content_type"] == "application/geo+json"

    viewer = user_with_role(county, "viewer", username="viewer")  # view_county_data: may download
    download = bearer_client(viewer).get(reverse("api:gis-export-job-download", args=[job.pk]))
    assert download.status_code == 200
    path = tmp_path / "parcels.geojson"
    path.write_bytes(b"".join(download.streaming_content))
    assert pyogrio.read_info(path)["features"] == active
    assert pyogrio.read_info(path)["crs"] == "EPSG:2927"

    elsewhere = CountyFactory(slug="franklin-wa")
    stranger = user_with_role(elsewhere, "gis_analyst", username="stranger")
    assert bearer_client(stranger).get(reverse("api:gis-export-job-download", args=[job.pk])).status_code == 404

    # Past GIS_EXPORT_FILE_TTL_HOURS the download is gone (410), and the sweep deletes the file.
    stored = job.files[0]["path"]
    GisExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - datetime.timedelta(days=8))
    expired = bearer_client(viewer).get(reverse("api:gis-export-job-download", args=[job.pk]))
    assert expired.status_code == 410 and "expired" in expired.json()["error"]["message"]
    assert default_storage.exists(stored)
    assert expired_files_delete() == 1
    assert not default_storage.exists(stored)
    job.refresh_from_db()
    assert job.files == [] and job.status == JobStatus.COMPLETED

    registry = CollectorRegistry()
    registry.register(metrics.JobMetricsCollector())
    text = generate_latest(registry).decode()
    assert 'gis_export_jobs_submitted_total{county="demo",format="geojson"} 1.0' in text
    assert 'gis_export_jobs_completed_total{county="demo",format="geojson"} 1.0' in text
    assert 'gis_export_processing_duration_seconds_count{county="demo",format="geojson"} 1.0' in text
