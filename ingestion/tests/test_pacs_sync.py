"""Loads after the first: PACS's changes applied and audited, properties gone or inactive deactivated, a new roll
year loaded, a mapping that does not fit refused before anything is read, and PACS going away mid-load.

Reloads and syncs read digests first: PACS hashes each property's rows, and only the properties whose hash is
not the one TerraFusion stored are read whole. A change in any table a record comes from (even one without
tsRowVersion, like account or sale) is found; a change of the mapping reads everything again.

The SQL that changes the fake PACS is built from ids the tests read back from the database.
"""
# ruff: noqa: S608

import dataclasses
import threading
import zlib

import psycopg
import pytest
from django.db import connections

from ingestion.jobs import IngestionJobRunner
from ingestion.models import IngestionJob
from ingestion.pacs.fake import fake_pacs_create
from ingestion.pacs.reader import PacsReader
from ingestion.services import (
    OPEN_HIGH,
    OPEN_LOW,
    SOURCE_SYSTEM,
    PacsMappingInvalid,
    PacsUnavailable,
    pacs_load_plan,
    pacs_load_range,
    pacs_source_open,
)
from ingestion.tests.test_pacs_load import PARCELS, load, mapping
from properties.models import Property, PropertyChange, PropertyValue, Sale
from properties.services import properties_stored, source_hashes
from terrafusion.databases import pacs_connection_open
from terrafusion.jobs.models import JobStatus
from terrafusion.testing.pacs import pacs_execute, pacs_fill

pytestmark = pytest.mark.django_db(databases=["default", "pacs"])


@pytest.fixture
def fake(django_db_setup, django_db_blocker):
    """A fresh fake PACS per test: these tests change it."""
    with django_db_blocker.unblock():
        return pacs_fill(properties=PARCELS, years=[2025, 2026], seed=7)


def current(prop_id: int, year: int = 2026) -> str:
    """SQL restricting property_val to a property's current supplement of the year."""
    return (
        f"prop_id = {prop_id} AND prop_val_yr = {year} AND sup_num = "
        f"(SELECT sup_num FROM prop_supp_assoc WHERE prop_id = {prop_id} AND owner_tax_yr = {year})"
    )


def test_changes_in_pacs_are_applied_and_audited(fake, county):
    first = load(county)
    sale = Sale.objects.filter(county=county, is_multi_parcel=False).select_related("property").first()
    sold = sale.property
    changed, gone = Property.objects.filter(county=county, improvement_value__gt=0).exclude(pk=sold.pk)[:2]
    old_market = changed.market_value
    pacs_execute(
        # A value correction, a new address, a property made inactive, a sale withdrawn.
        f"UPDATE property_val SET market = market + 1000, imprv_non_hstd_val = COALESCE(imprv_non_hstd_val, 0) + 1000 "
        f"WHERE {current(changed.property_id)}",
        f"UPDATE situs SET situs_street = 'NEW STREET' WHERE prop_id = {changed.property_id}",
        f"UPDATE property_val SET prop_inactive_dt = '2026-06-01' WHERE {current(gone.property_id)}",
        f"DELETE FROM chg_of_owner_prop_assoc WHERE chg_of_owner_id = {sale.sale_id} AND prop_id = {sold.property_id}",
    )
    second = load(county)
    assert (second["inserted"], second["updated"], second["deactivated"], second["sales_deleted"]) == (0, 1, 1, 1)
    assert second["unchanged"] == first["inserted"] - 2
    changed.refresh_from_db()
    assert changed.market_value == old_market + 1000 and "NEW STREET" in changed.situs_address
    trail = PropertyChange.objects.get(property=changed, job_id=second["job"].pk, changes__has_key="market_value")
    assert trail.changes["market_value"] == {"old": old_market, "new": old_market + 1000}
    assert trail.actor_kind == "job" and trail.source == "pacs 2026"
    history = PropertyValue.objects.get(property=changed, roll_year=2026, source="pacs")
    assert history.market_value == old_market + 1000
    assert PropertyChange.objects.filter(property=changed, changes__has_key="values[2026/pacs].market_value").exists()
    gone.refresh_from_db()
    assert gone.is_active is False
    assert PropertyChange.objects.get(property=gone).changes == {"is_active": {"old": True, "new": False}}
    assert not Sale.objects.filter(pk=sale.pk).exists()
    withdrawn = PropertyChange.objects.get(property=sold, changes__has_key=f"sales[{sale.sale_id}].sale_price")
    assert withdrawn.changes[f"sales[{sale.sale_id}].sale_price"] == {"old": sale.sale_price, "new": None}


def test_a_certified_roll_is_not_rewritten(fake, county):
    load(county)
    prop = Property.objects.filter(county=county).first()
    PropertyValue.objects.filter(property=prop, roll_year=2026).update(is_certified=True)
    pacs_execute(f"UPDATE property_val SET market = market + 5, land_non_hstd_val = COALESCE(land_non_hstd_val, 0) + 5 "
                 f"WHERE {current(prop.property_id)}")  # fmt: skip
    before = PropertyValue.objects.get(property=prop, roll_year=2026).market_value
    result = load(county)
    assert result["values_certified"] == 1
    assert PropertyValue.objects.get(property=prop, roll_year=2026).market_value == before


def test_the_next_roll_year_is_loaded_and_the_last_left_alone(fake, county):
    load(county, roll_year=2025)
    values_2025 = dict(
        PropertyValue.objects.filter(county=county, roll_year=2025).values_list("property_id", "market_value")
    )
    result = load(county, roll_year=None)  # a sync: PACS's newest year
    assert result["roll_year"] == 2026
    assert set(Property.objects.filter(county=county).values_list("value_year", flat=True)) == {2026}
    assert (
        dict(PropertyValue.objects.filter(county=county, roll_year=2025).values_list("property_id", "market_value"))
        == values_2025
    )
    assert (
        PropertyValue.objects.filter(county=county, roll_year=2026).count()
        == PropertyValue.objects.filter(county=county, roll_year=2025).count()
    )


def test_a_mapping_that_does_not_fit_this_pacs_is_refused_before_anything_is_read(fake, county):
    pacs_execute("ALTER TABLE property_val DROP COLUMN legal_desc_2")
    with pytest.raises(PacsMappingInvalid) as refused:
        pacs_source_open(county=county, roll_year=2026, mapping=mapping())
    assert "property_val" in str(refused.value) and "legal_desc_2" in str(refused.value)
    assert not Property.objects.filter(county=county).exists()


@pytest.mark.django_db(databases=["default", "pacs"], transaction=True)  # parts really commit; PACS reconnects
def test_pacs_going_away_mid_load_fails_clearly_and_a_rerun_completes(fake, county, monkeypatch, settings):
    settings.PACS_CHUNK_PROPERTIES = 100  # several parts
    read = PacsReader.chunk
    calls = []

    def cut_on_the_second_part(self, low, high, known=None):
        calls.append(low)
        if len(calls) == 2:  # the database server drops our session, as a failover or a restart would
            pacs_execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                         "AND pid <> pg_backend_pid()")  # fmt: skip
        return read(self, low, high, known)

    monkeypatch.setattr(PacsReader, "chunk", cut_on_the_second_part)
    with pytest.raises(PacsUnavailable) as failed:
        load(county)
    message = str(failed.value)
    assert "PACS could not be read" in message and "Nothing of this part was written" in message
    assert "Run the load again" in message
    first_part = Property.objects.filter(county=county).count()
    assert 0 < first_part < PARCELS  # the first part is in, whole; nothing of the second
    connections["pacs"].close()
    monkeypatch.setattr(PacsReader, "chunk", read)
    result = load(county)
    assert Property.objects.filter(county=county).count() == PARCELS
    assert result["inserted"] == PARCELS - first_part and result["updated"] == 0


def test_loading_an_earlier_year_fills_the_history_and_keeps_current_values(fake, county, other_county):
    load(other_county, roll_year=2025)  # the 2025 roll on its own, to compare with
    load(county, roll_year=2026)
    current = dict(Property.objects.filter(county=county).values_list("property_id", "market_value"))
    result = load(county, roll_year=2025)  # the certified roll, loaded after the working one
    assert result["values_inserted"] == len(current)
    assert dict(Property.objects.filter(county=county).values_list("property_id", "market_value")) == current
    assert set(Property.objects.filter(county=county).values_list("value_year", flat=True)) == {2026}
    assert set(PropertyValue.objects.filter(county=county).values_list("roll_year", flat=True)) == {2025, 2026}
    history = PropertyValue.objects.filter(roll_year=2025).values_list("property__property_id", "market_value")
    assert dict(history.filter(county=county)) == dict(history.filter(county=other_county)) != current


@pytest.fixture
def reads(monkeypatch):
    """Every read of a range the reader makes, as (in full?, its window): digests only, or every column."""
    made = []
    read = PacsReader._read

    def recorded(self, window, *, full):
        made.append((full, window))
        return read(self, window, full=full)

    monkeypatch.setattr(PacsReader, "_read", recorded)
    return made


def test_an_unchanged_pacs_is_read_as_digests_only(fake, county, reads):
    first = load(county)
    assert first["inserted"] > PARCELS * 0.8 and all(whole for whole, _ in reads)  # a first load reads whole at once
    reads.clear()
    second = load(county)
    assert (second["inserted"], second["updated"], second["unchanged"]) == (0, 0, first["inserted"])
    assert reads and not any(whole for whole, _ in reads)


def test_changes_in_tables_without_rowversion_are_found_and_only_they_are_read_whole(fake, county, reads):
    load(county)
    owned = Property.objects.filter(county=county).exclude(owner_name="").order_by("property_id").first()
    sale = Sale.objects.filter(county=county, is_multi_parcel=False).exclude(property=owned).first()
    with connections["pacs"].cursor() as cursor:  # the owner of record: the largest share, then the lowest id
        cursor.execute(
            "SELECT o.owner_id FROM owner o JOIN prop_supp_assoc psa ON psa.prop_id = o.prop_id "
            "AND psa.owner_tax_yr = o.owner_tax_yr AND psa.sup_num = o.sup_num "
            f"WHERE o.prop_id = {owned.property_id} AND o.owner_tax_yr = 2026 "
            "ORDER BY COALESCE(o.pct_ownership, 0) DESC, o.owner_id"
        )
        account = cursor.fetchone()[0]
    pacs_execute(
        f"UPDATE account SET file_as_name = 'RENAMED OWNER LLC' WHERE acct_id = {account}",  # no tsRowVersion
        f"UPDATE sale SET sl_price = sl_price + 500 WHERE chg_of_owner_id = {sale.sale_id}",  # nor here
    )
    reads.clear()
    result = load(county)
    owned.refresh_from_db()
    assert owned.owner_name == "RENAMED OWNER LLC"
    moved = Sale.objects.get(pk=sale.pk)
    assert moved.sale_price == sale.sale_price + 500
    renamed = Property.objects.filter(county=county, owner_name="RENAMED OWNER LLC").count()
    assert (result["updated"], result["sales_updated"]) == (renamed, 1)  # the account's parcels (it may own several)
    whole = [window for made_whole, window in reads if made_whole]
    assert whole and all(" IN (" in window for window in whole)  # only the changed properties, by id
    assert str(owned.property_id) in " ".join(whole) and str(sale.property.property_id) in " ".join(whole)


def test_a_change_of_the_mapping_reads_every_property_again(fake, county):
    load(county)
    changed = dataclasses.replace(mapping(), quality_codes={**mapping().quality_codes, "G": "average"})
    source = pacs_source_open(county=county, roll_year=2026, mapping=changed)
    stale = unchanged = 0
    for low, high in pacs_load_plan(source):
        stored = properties_stored(county=county, key_range=(low, high))
        known = source_hashes(stored, roll_year=2026, source_system=SOURCE_SYSTEM)
        chunk = source.reader.chunk(low, high, known)
        stale, unchanged = stale + len(chunk.properties), unchanged + len(chunk.unchanged)
    assert unchanged == 0 and stale == Property.objects.filter(county=county).count()


@pytest.mark.django_db(databases=["default", "pacs"], transaction=True)  # two sessions: the lock must be real
def test_a_load_waits_for_another_load_of_the_same_range(fake, county):
    """Two loads of one county (a sync beside a bulk load) do not both insert a parcel: a range is locked."""
    source = pacs_source_open(county=county, roll_year=2026, mapping=mapping())
    low = pacs_load_plan(source)[0][0]
    other = psycopg.connect(**default_connection(), autocommit=True)  # another load, holding the range
    other.execute("SELECT pg_advisory_lock(%s, %s)", [county.pk, zlib.crc32(str(low).encode()) - 2**31])
    done = threading.Event()

    def second() -> None:
        try:
            load(county)
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not done.wait(1.5)  # it waits for the range
    assert not Property.objects.filter(county=county).exists()
    other.close()  # the other load ends
    assert done.wait(60)
    thread.join()
    assert Property.objects.filter(county=county).count() > PARCELS * 0.8


def default_connection() -> dict:
    """psycopg's arguments for the test database (another session than Django's)."""
    given = connections["default"].settings_dict
    arguments = {"dbname": given["NAME"], "user": given["USER"], "password": given["PASSWORD"], "host": given["HOST"],
                 "port": given["PORT"]}  # fmt: skip
    return {name: value for name, value in arguments.items() if value}


def test_a_part_loads_the_year_its_plan_fixed_even_when_pacs_moved_on(fake, county):
    """A sync plans PACS's newest year; a part run after PACS added a year still loads the planned one."""
    job = IngestionJob.objects.create(county=county, status=JobStatus.RUNNING, parameters={"operation": "pacs_sync"})
    runner = IngestionJobRunner(job)
    assert runner.source().roll_year == 2026  # the newest year: what a sync plans
    part = IngestionJobRunner(job)  # a part runs in a fresh process
    result = part.run_chunk({"low": OPEN_LOW, "high": OPEN_HIGH, "roll_year": 2025})
    assert result["inserted"] > PARCELS * 0.8
    assert set(Property.objects.filter(county=county).values_list("value_year", flat=True)) == {2025}


def test_a_sqlite_pacs_loads_the_same_records_and_reloads_as_digests(tmp_path, fake, county, other_county, reads):
    """The demo's path: a SQLite PACS (window functions, the registered digest) gives the records a PostgreSQL PACS
    of the same county gives, and its digests are stable from one read to the next."""
    url = f"sqlite:///{tmp_path}/pacs.sqlite3"
    fake_pacs_create(url, properties=PARCELS, years=[2025, 2026], seed=7)  # the `fake` fixture's county
    pacs = pacs_connection_open(url)
    job = IngestionJob.objects.create(county=other_county, status=JobStatus.RUNNING, parameters={})

    def load_sqlite() -> list[dict]:
        source = pacs_source_open(county=other_county, roll_year=2026, mapping=mapping(), connection=pacs)
        return [
            pacs_load_range(county=other_county, source=source, key_range=r, job=job) for r in pacs_load_plan(source)
        ]

    first = load_sqlite()
    load(county)  # the same county from PostgreSQL
    compared = ["property_id", "parcel_number", "owner_name", "situs_address", "living_area", "bedrooms", "bathrooms",
                "quality", "market_value", "acreage", "last_sale_price", "source_row_hash"]  # fmt: skip
    from_sqlite = list(Property.objects.filter(county=other_county).order_by("property_id").values(*compared[:-1]))
    assert from_sqlite == list(Property.objects.filter(county=county).order_by("property_id").values(*compared[:-1]))
    assert sum(part["inserted"] for part in first) == len(from_sqlite) > PARCELS * 0.8
    reads.clear()
    again = load_sqlite()
    assert sum(part["unchanged"] for part in again) == len(from_sqlite) and not any(full for full, _ in reads)
    pacs.close()
