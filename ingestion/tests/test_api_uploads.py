"""Uploads through the API: a file read at once and kept as it came, refused with the reason when it cannot be a table
of its kind; only a data steward of the county uploads there; other counties' uploads are invisible."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ingestion.models import Upload, UploadState
from ingestion.services import upload_receive
from terrafusion.testing.api import EndpointContract, assert_matches_schema, bearer_client
from terrafusion.testing.factories import CountyFactory, user_with_role

pytestmark = pytest.mark.django_db
SALES_CSV = b"Parcel Number,sale_date,sale_price\r\n1-01,2025-03-01,250000\r\n1-02,2025-04-02,310000\r\n"


def upload_of(county, content: bytes = SALES_CSV, name: str = "sales.csv") -> Upload:
    return upload_receive(county=county, kind="sales", file=SimpleUploadedFile(name, content), user=None, mapping={},
                          sheet=None)  # fmt: skip


def post(client, county_slug: str, content: bytes = SALES_CSV, name: str = "sales.csv", **extra):
    data = {"county": county_slug, "kind": "sales", "file": SimpleUploadedFile(name, content), **extra}
    response = client.post(reverse("api:ingestion-upload-list"), data, format="multipart")
    assert_matches_schema(response)
    return response


class TestUploadList(EndpointContract):
    route = "api:ingestion-upload-list"
    is_list = True

    def make_target(self, county):
        return upload_of(county)

    def target_id(self, target):
        return str(target.pk)


class TestUploadDetail(EndpointContract):
    route = "api:ingestion-upload-detail"

    def make_target(self, county):
        return upload_of(county)


class TestUploadOriginal(EndpointContract):
    route = "api:ingestion-upload-original"

    def make_target(self, county):
        return upload_of(county)

    def check_allowed_response(self, response, target) -> None:
        assert b"".join(response.streaming_content) == SALES_CSV


class TestUploadCreate(EndpointContract):
    route = "api:ingestion-upload-list"
    method = "post"
    is_create = True
    role = "data_steward"
    read_only_role = "viewer"
    expected_status = 201

    def make_target(self, county):
        return county

    def call(self, client, target):
        return post(client, target.slug)

    def snapshot(self, target):
        return Upload.objects.count()


def test_an_upload_is_read_at_once_and_kept_as_it_came(db):
    county = CountyFactory(slug="benton-wa")
    steward = user_with_role(county, "data_steward", username="steward")
    response = post(bearer_client(steward), "benton-wa", column_mapping='{"Parcel Number": "parcel_number"}')
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["state"], body["rows"], body["encoding"], body["uploaded_by"]) == ("uploaded", 2, "utf-8", "steward")
    upload = Upload.objects.get(pk=body["id"])
    assert upload.state == UploadState.UPLOADED and upload.file.read() == SALES_CSV
    original = bearer_client(steward).get(body["original_url"])
    assert (
        b"".join(original.streaming_content) == SALES_CSV and 'filename="sales.csv"' in original["Content-Disposition"]
    )


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (b"\x00\x01binary", {}, "binary data"),
        (b"parcel_number,sale_price\n1,2\n", {}, "Required columns missing: sale_date"),
        (SALES_CSV, {"column_mapping": "{not json"}, "valid JSON"),
        (SALES_CSV, {"column_mapping": '["parcel_number"]'}, "JSON object"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_its_reason_and_nothing_kept(db, content, extra, message):
    county = CountyFactory(slug="benton-wa")
    steward = user_with_role(county, "data_steward", username="steward")
    response = post(bearer_client(steward), "benton-wa", content, **extra)
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert any(message in reason for reasons in fields.values() for reason in reasons), fields
    assert not Upload.objects.exists()


def test_size_limit_and_another_countys_steward(db, settings):
    county = CountyFactory(slug="benton-wa")
    elsewhere = user_with_role(CountyFactory(slug="franklin-wa"), "data_steward", username="franklin")
    assert post(bearer_client(elsewhere), "benton-wa").status_code == 403
    settings.INGESTION_UPLOAD_MAX_BYTES = 16
    steward = user_with_role(county, "data_steward", username="steward")
    too_big = post(bearer_client(steward), "benton-wa")
    assert too_big.status_code == 400 and "at most 16" in too_big.json()["error"]["fields"]["file"][0]
    assert not Upload.objects.exists()


def test_the_admin_lists_uploads_with_their_original(db, client):
    county = CountyFactory(slug="benton-wa")
    upload = upload_of(county)
    CountyFactory(slug="franklin-wa")
    client.force_login(user_with_role(county, "viewer", username="staff", is_staff=True))
    page = client.get(reverse("admin:ingestion_upload_changelist")).content.decode()
    assert "sales.csv" in page and reverse("api:ingestion-upload-original", args=[upload.pk]) in page
    stranger = user_with_role(CountyFactory(slug="yakima-wa"), "viewer", username="stranger", is_staff=True)
    client.force_login(stranger)
    assert "sales.csv" not in client.get(reverse("admin:ingestion_upload_changelist")).content.decode()


@pytest.mark.django_db(transaction=True)
def test_an_upload_is_validated_by_a_job_in_a_worker(db):
    from ingestion.models import IngestionJob
    from terrafusion.testing.factories import PropertyFactory
    from terrafusion.testing.workers import run_burst_worker

    county = CountyFactory(slug="benton-wa")
    PropertyFactory(county=county, parcel_number="1-01")
    steward = user_with_role(county, "data_steward", username="steward")
    response = post(bearer_client(steward), "benton-wa")  # 1-01 is a parcel, 1-02 is not
    assert response.status_code == 201
    job = IngestionJob.objects.get()
    assert job.parameters == {"operation": "upload_validate", "upload": response.json()["id"], "dry_run": False}
    assert run_burst_worker().returncode == 0
    job.refresh_from_db()
    assert job.status == "completed", job.error_message
    upload = Upload.objects.get()
    assert upload.state == UploadState.VALIDATED and upload.validated_at is not None
    assert (upload.preview["insert"], upload.preview["rejected"]) == (1, 1)
    assert upload.preview["rejects"] == [
        {"row": 3, "field": "parcel_number", "reason": "no parcel of this number in the county", "value": "1-02"}
    ]
    assert job.result == {"upload": str(upload.pk), "rows": 2, "insert": 1, "update": 0, "unchanged": 0, "rejected": 1}


def validated_upload(county, uploader=None) -> Upload:
    upload = upload_of(county)
    upload.uploaded_by = uploader
    upload.state, upload.preview = UploadState.VALIDATED, {"rows": 2, "rejected": 1, "insert": 1}
    upload.save()
    return upload


class TestUploadApprove(EndpointContract):
    route = "api:ingestion-upload-approve"
    method = "post"
    role = "data_steward"
    read_only_role = "viewer"

    def make_target(self, county):
        return validated_upload(county)

    def snapshot(self, target):
        return Upload.objects.filter(pk=target.pk).values_list("state", flat=True).first()


class TestUploadReject(TestUploadApprove):
    route = "api:ingestion-upload-reject"


def test_four_eyes_an_upload_is_approved_by_another_person_and_says_what_applies(db):
    county = CountyFactory(slug="benton-wa")
    uploader = user_with_role(county, "data_steward", username="uploader")
    upload = validated_upload(county, uploader)
    url = reverse("api:ingestion-upload-approve", args=[upload.pk])
    mine = bearer_client(uploader).post(url, {}, format="json")
    assert mine.status_code == 403 and "Four eyes" in mine.json()["error"]["message"]
    approver = user_with_role(county, "data_steward", username="approver")
    done = bearer_client(approver).post(url, {"note": "checked the big ones"}, format="json")
    assert done.status_code == 200, done.content
    body = done.json()
    assert (body["state"], body["approved_by"], body["uploaded_by"]) == ("approved", "approver", "uploader")
    assert "only the valid rows apply; the 1 rejected rows are left out" in body["message"]
    assert bearer_client(approver).post(url, {}, format="json").status_code == 409  # approved once
    reject = bearer_client(approver).post(reverse("api:ingestion-upload-reject", args=[upload.pk]), {}, format="json")
    assert reject.status_code == 409  # too late to reject


def test_an_unvalidated_upload_is_not_approved_but_may_be_rejected(db):
    county = CountyFactory(slug="benton-wa")
    upload = upload_of(county)
    approver = user_with_role(county, "data_steward", username="approver")
    early = bearer_client(approver).post(reverse("api:ingestion-upload-approve", args=[upload.pk]), {}, format="json")
    assert early.status_code == 409 and "only a validated upload" in early.json()["error"]["message"]
    rejected = bearer_client(approver).post(reverse("api:ingestion-upload-reject", args=[upload.pk]),
                                            {"note": "wrong county's file"}, format="json")  # fmt: skip
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    assert "wrong county's file" in rejected.json()["message"]
