"""The OpenAPI schema is a contract a generated client can use: openapi-python-client builds a client from
`/api/schema/`, and that client logs in, pages properties, and starts, follows and reads a job of every kind."""

import datetime
import importlib
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from terrafusion.jobs.registry import job_kinds
from terrafusion.testing.factories import PASSWORD, PropertyFactory, SaleFactory, user_with_role
from terrafusion.testing.pacs import pacs_fill, pacs_url
from terrafusion.testing.workers import run_burst_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(databases=["default", "pacs"], transaction=True)]

GENERATOR = [sys.executable, "-m", "openapi_python_client"]


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


@pytest.fixture
def client_package(live_server, tmp_path, monkeypatch):
    """The client generated from the schema the server serves, importable as `tf_client`."""
    from rest_framework.test import APIClient

    schema = APIClient().get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    (tmp_path / "schema.json").write_bytes(schema.content)
    (tmp_path / "config.yaml").write_text("post_hooks: []\npackage_name_override: tf_client\n")
    generated = subprocess.run(
        [
            *GENERATOR,
            "generate",
            "--path",
            "schema.json",
            "--config",
            "config.yaml",
            "--meta",
            "none",
            "--output-path",
            "tf_client",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout + generated.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("tf_client")
    for name in [name for name in sys.modules if name == "tf_client" or name.startswith("tf_client.")]:
        del sys.modules[name]


def _operation(package, schema: dict, path: str, method: str):
    """The generated module of an operation, found through its operationId and tag as the generator names them."""
    operation = schema["paths"][path][method]
    return importlib.import_module(
        f"{package.__name__}.api.{_snake(operation['tags'][0])}.{_snake(operation['operationId'])}"
    )


@pytest.fixture
def fake_pacs(django_db_setup, django_db_blocker):
    """A small fake PACS, for the ingestion job's run."""
    with django_db_blocker.unblock():
        pacs_fill(properties=40, years=[2025, 2026], seed=2)


def test_a_generated_client_logs_in_pages_properties_and_runs_every_kind_of_job(
    client_package, live_server, county, fake_pacs
):
    from terrafusion.testing.openapi import api_schema

    schema = api_schema()
    user = user_with_role(county, "county_admin", username="client-user")
    # Five parcels, each sold ten times (a valuation job trains a model on the sales).
    for parcel in PropertyFactory.create_batch(5, county=county):
        for months in range(10):
            sold = datetime.date(county.working_roll_year - 1, 1 + months, 10 + parcel.pk % 10)
            SaleFactory(county=county, property=parcel, sale_date=sold, sale_price=300_000 + 5_000 * months + parcel.pk)
    tf = client_package
    models = importlib.import_module("tf_client.models")

    login = _operation(tf, schema, "/api/v1/auth/login", "post")
    tokens = login.sync(client=tf.Client(base_url=live_server.url), body=models.LoginRequest(user.username, PASSWORD))
    assert tokens is not None and tokens.access
    api = tf.AuthenticatedClient(base_url=live_server.url, token=tokens.access, raise_on_unexpected_status=True)

    me = _operation(tf, schema, "/api/v1/auth/me", "get").sync(client=api)
    assert [c.slug for c in me.counties] == [county.slug]

    page_of = _operation(tf, schema, "/api/v1/properties/", "get")
    seen, cursor = [], None
    while True:
        kwargs = {"county": county.slug, "page_size": 2} | ({"cursor": cursor} if cursor else {})
        page = page_of.sync(client=api, **kwargs)
        seen += [row.parcel_number for row in page.results]
        if not page.next_:
            break
        cursor = parse_qs(urlparse(page.next_).query)["cursor"][0]
    assert len(seen) == len(set(seen)) == 5

    detail = _operation(tf, schema, "/api/v1/properties/{id}/", "get").sync(client=api, id=page.results[0].id)
    assert detail.parcel_number == page.results[0].parcel_number

    for kind in job_kinds():
        base = f"/api/v1/{kind.slug}"
        start = _operation(tf, schema, f"{base}/jobs/", "post")
        body_class = start.sync.__annotations__["body"]
        job = start.sync(
            client=api, body=body_class.from_dict({"county": county.slug, "parameters": kind.example_parameters})
        )
        assert job.status.value == "pending" and job.finished_at is None  # unset fields are typed as such

        worker = run_burst_worker(PACS_DATABASE_URL=pacs_url())
        assert worker.returncode == 0, worker.stderr

        followed = _operation(tf, schema, f"{base}/jobs/{{id}}/", "get").sync(client=api, id=job.id)
        assert followed.status.value == "completed", followed.error_message
        assert followed.finished_at is not None
        results = _operation(tf, schema, f"{base}/jobs/{{id}}/results/", "get").sync(client=api, id=job.id)
        assert results.status.value == "completed"
        assert results.result is not None
