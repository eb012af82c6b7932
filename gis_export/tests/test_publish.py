"""Publication of a roll year, run by a real worker: the GeoParquet layer in the archive with its metadata, the same
layer in a real PostGIS database (replaced, not added to, when published again), and the analytics store's Parquet,
partitioned by county and roll year, queried with DuckDB as an analyst would."""
# ruff: noqa: S608 - the SQL names the publication's own table and the test's own directory

import json
import uuid

import duckdb
import psycopg
import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.urls import reverse

from counties.models import County
from gis_export.models import GisExportJob
from gis_export.publish import GIS_TABLE
from properties.demo import demo_county_generate
from properties.models import Property, PropertyValue, Sale
from terrafusion.jobs.models import JobStatus
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import user_with_role
from terrafusion.testing.workers import run_burst_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def county(db):
    demo_county_generate(slug="demo", parcels=200, seed=9, working_year=2026)
    return County.objects.get(slug="demo")


@pytest.fixture
def gis_database():
    """A PostGIS database beside the test database, dropped afterwards (skips where PostGIS is not installed)."""
    settings = connection.settings_dict
    server = f"postgresql://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    name = f"{settings['NAME']}_gis_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        available = admin.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
        if not available:
            pytest.skip("PostGIS is not installed (`make test` installs postgresql-15-postgis-3)")
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def publish(user, **extra) -> GisExportJob:
    response = bearer_client(user).post(
        reverse("api:gis-export-job-list"),
        {"county": "demo", "parameters": {"operation": "publish", "roll_year": 2026}}, format="json",
    )  # fmt: skip
    assert response.status_code == 202, response.content
    assert run_burst_worker(**extra).returncode == 0
    job = GisExportJob.objects.get(pk=response.json()["id"])
    assert job.status == JobStatus.COMPLETED, (job.error_message, job.log[-3:])
    return job


def test_a_publication_fills_the_archive_and_the_gis_database(county, gis_database, tmp_path):
    analyst = user_with_role(county, "gis_analyst", username="gis")
    environment = {"ARCHIVE_ROOT": str(tmp_path), "GIS_DATABASE_URL": gis_database}
    job = publish(analyst, **environment)
    active = Property.objects.filter(county=county, is_active=True).count()
    archive = job.result["archive"]
    assert archive["parcels"]["rows"] == active and job.result["gis_database"] == {"table": GIS_TABLE, "rows": active}

    # The layer: one GeoParquet file for the county and roll year, saying what it is.
    layer = tmp_path / "parcels" / "county=demo" / "roll_year=2026" / "parcels.parquet"
    meta = pq.read_metadata(layer).metadata
    about = json.loads(meta[b"terrafusion"])
    assert (about["county"], about["roll_year"], about["source"], about["rows"]) == ("demo", 2026, "pacs", active)
    assert about["created_at"].startswith("20") and json.loads(meta[b"geo"])["columns"]["geometry"]["encoding"] == "WKB"

    # PostGIS: the same parcels, valid geometry in SRID 4326, the roll year's values.
    with psycopg.connect(gis_database) as gis:
        count, srids, invalid = gis.execute(
            f"SELECT count(*), array_agg(DISTINCT ST_SRID(geometry)), count(*) FILTER (WHERE NOT ST_IsValid(geometry)) "
            f"FROM {GIS_TABLE} WHERE county = 'demo' AND roll_year = 2026"
        ).fetchone()
        assert (count, srids, invalid) == (active, [4326], 0)
        parcel = Property.objects.filter(county=county, is_active=True).order_by("id").first()
        value = PropertyValue.objects.get(property=parcel, roll_year=2026, source="pacs")
        row = gis.execute(
            f"SELECT market_value, parcel_number, situs_address FROM {GIS_TABLE} WHERE tf_id = %s",
            [parcel.pk],
        ).fetchone()
        assert row == (value.market_value, parcel.parcel_number, parcel.situs_address)

    # The analytics store, queried with DuckDB over the partitions.
    store = str(tmp_path)
    values = duckdb.sql(
        f"SELECT count(*), sum(market_value) FROM read_parquet('{store}/value_history/*/*/*.parquet', "
        "hive_partitioning = true) WHERE county = 'demo' AND roll_year = 2026"
    ).fetchall()[0]
    rows = PropertyValue.objects.filter(county=county, roll_year=2026)
    assert values == (rows.count(), sum(rows.values_list("market_value", flat=True)))
    sales = duckdb.sql(
        f"SELECT count(*), min(sale_date), max(sale_date) FROM read_parquet('{store}/sales/*/*/*.parquet', "
        "hive_partitioning = true) WHERE county = 'demo' AND roll_year = 2026"
    ).fetchall()[0]
    in_year = Sale.objects.filter(county=county, sale_date__year=2025)  # the year before 1 January 2026
    assert sales[0] == in_year.count() > 0 and sales[1].year == sales[2].year == 2025

    # Published again after a change: the roll year's rows are replaced, not added to.
    PropertyValue.objects.filter(pk=value.pk).update(market_value=value.market_value + 1)
    publish(analyst, **environment)
    with psycopg.connect(gis_database) as gis:
        count, changed = gis.execute(
            f"SELECT count(*), max(market_value) FILTER (WHERE tf_id = %s) FROM {GIS_TABLE}",
            [parcel.pk],
        ).fetchone()
    assert (count, changed) == (active, value.market_value + 1)


def test_a_publication_is_always_the_whole_roll(county):
    analyst = user_with_role(county, "gis_analyst", username="gis")
    response = bearer_client(analyst).post(
        reverse("api:gis-export-job-list"),
        {"county": "demo", "parameters": {"operation": "publish", "format": "gpkg", "crs": "EPSG:2927"}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert {"parameters.format", "parameters.crs"} <= set(response.json()["error"]["fields"])
