"""Job files in S3-compatible storage (S3_BUCKET): a real worker stores a GIS export through django-storages and
boto3 in moto's S3 server (HTTP on 127.0.0.1: no S3 is reachable here); the API downloads it; the sweep deletes it
once expired."""

import datetime
import socket

import boto3
import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from counties.models import County
from gis_export.models import GisExportJob
from properties.demo import demo_county_generate
from terrafusion.jobs.models import JobStatus
from terrafusion.jobs.sweep import expired_files_delete
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import user_with_role
from terrafusion.testing.workers import run_burst_worker

pytestmark = pytest.mark.django_db(transaction=True)
BUCKET = "county-files"
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-west-2"}


@pytest.fixture
def s3(monkeypatch):
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    for key, value in KEYS.items():
        monkeypatch.setenv(key, value)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-west-2")
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    yield endpoint, client
    server.stop()


def test_an_export_is_stored_in_s3_downloaded_and_deleted_once_expired(s3):
    endpoint, client = s3
    demo_county_generate(slug="demo", parcels=60, seed=2, working_year=2026)
    county = County.objects.get(slug="demo")
    analyst = user_with_role(county, "gis_analyst", username="gis")
    response = bearer_client(analyst).post(
        reverse("api:gis-export-job-list"), {"county": "demo", "parameters": {"format": "flatgeobuf"}}, format="json"
    )
    assert response.status_code == 202
    worker = run_burst_worker(S3_BUCKET=BUCKET, S3_ENDPOINT_URL=endpoint, S3_REGION="us-west-2", **KEYS)
    assert worker.returncode == 0, worker.stderr[-2000:]
    job = GisExportJob.objects.get(pk=response.json()["id"])
    assert job.status == JobStatus.COMPLETED, job.error_message
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert keys == [f"media/{job.files[0]['path']}"]
    stored = client.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    assert stored[:4] == b"fgb\x03" and len(stored) == job.files[0]["size"]

    s3_storage = {"BACKEND": "storages.backends.s3.S3Storage",
                  "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": endpoint, "region_name": "us-west-2",
                              "location": "media", "default_acl": None}}  # fmt: skip
    with override_settings(
        STORAGES={"default": s3_storage, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"}}
    ):
        download = bearer_client(analyst).get(reverse("api:gis-export-job-download", args=[job.pk]))
        assert download.status_code == 200 and b"".join(download.streaming_content) == stored
        GisExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - datetime.timedelta(days=8))
        assert default_storage.exists(job.files[0]["path"])
        assert expired_files_delete() == 1
    assert client.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
