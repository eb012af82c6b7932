"""The PACS bulk load against a fake PACS: it reproduces the demo county the fake was made from, survives every
quirk, is idempotent and audited, and rejects what it cannot load with the key, field and reason."""

import json

import pytest
from django.db import connection

from counties.models import County
from ingestion.models import IngestionJob, IngestionReject
from ingestion.pacs.mapping import pacs_mapping_default
from ingestion.services import pacs_load_combine, pacs_load_plan, pacs_load_range, pacs_source_open
from properties.demo import demo_county_generate
from properties.models import Property, PropertyChange, PropertyValue, Sale
from terrafusion.jobs.models import JobStatus
from terrafusion.testing.pacs import pacs_fill

PARCELS, SEED, YEARS = 300, 5, [2025, 2026]
pytestmark = pytest.mark.django_db(databases=["default", "pacs"], transaction=False)

COMPARED = (
    "parcel_number", "property_type", "class_code", "situs_address", "situs_city", "situs_zip", "owner_name",
    "legal_description", "land_area_sqft", "acreage", "living_area", "year_built", "effective_year", "bedrooms",
    "bathrooms", "quality", "condition", "land_value", "improvement_value", "market_value", "assessed_value",
    "value_year", "last_sale_date", "last_sale_price", "is_active",
)  # fmt: skip


@pytest.fixture(scope="module")
def fake(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return pacs_fill(properties=PARCELS, years=YEARS, seed=SEED)


def mapping():
    """Benton's shipped mapping: the fake writes Benton's codes."""
    return pacs_mapping_default()


def load(county, *, roll_year=2026, dry_run=False) -> dict:
    job = IngestionJob.objects.create(
        county=county, status=JobStatus.RUNNING, parameters={"operation": "pacs_bulk_load"}
    )
    source = pacs_source_open(county=county, roll_year=roll_year, mapping=mapping())
    results = [
        pacs_load_range(county=county, source=source, key_range=key_range, job=job, dry_run=dry_run)
        for key_range in pacs_load_plan(source)
    ]
    return pacs_load_combine(results, county=county, roll_year=source.roll_year, dry_run=dry_run) | {"job": job}


@pytest.fixture
def truth(db):
    demo_county_generate(slug="truth", parcels=PARCELS, seed=SEED, working_year=2026)
    return County.objects.get(slug="truth")


def rows(county) -> dict[int, dict]:
    return {
        row["property_id"]: row
        for row in Property.objects.filter(county=county).values("property_id", "neighborhood__code", *COMPARED)
    }


def test_a_load_reproduces_the_county_the_fake_was_made_from(fake, county, truth):
    result = load(county)
    loaded, expected = rows(county), rows(truth)
    assert set(loaded) == set(expected)
    differences = [
        (key, field, loaded[key][field], expected[key][field])
        for key in expected
        for field in ("neighborhood__code", *COMPARED)
        if field not in ("last_sale_date", "last_sale_price") and loaded[key][field] != expected[key][field]
    ]
    assert differences[:20] == []
    assert result["inserted"] == PARCELS and result["updated"] == 0
    assert result["unmapped_codes"] == {}  # every class and condition code of the fake is in Benton's mapping
    assert result["udi_children"] > 0  # the fake's undivided-interest children: their parent is the parcel
    assert result["skipped_types"] > 0 and result["inactive_in_pacs"] > 0  # the fake's other types and inactive


def test_sales_are_the_demos_plus_multi_parcel_sales(fake, county, truth):
    load(county)
    fields = ("property__property_id", "sale_id", "sale_date", "sale_price", "validity_code", "is_valid", "deed_type")
    ours = set(Sale.objects.filter(county=county, is_multi_parcel=False).values_list(*fields))
    theirs = set(Sale.objects.filter(county=truth).values_list(*fields))
    assert ours == theirs
    multi = Sale.objects.filter(county=county, is_multi_parcel=True)
    assert multi.exists()
    for sale_id in multi.values_list("sale_id", flat=True).distinct():
        assert multi.filter(sale_id=sale_id).count() >= 2  # one sale on each of its parcels
    last = dict(Property.objects.filter(county=truth).values_list("property_id", "last_sale_date"))
    for key, latest in Property.objects.filter(county=county).values_list("property_id", "last_sale_date"):
        multi_dates = Sale.objects.filter(county=county, property__property_id=key, is_multi_parcel=True)
        if not multi_dates.exists():
            assert latest == last[key]


def test_values_land_in_the_value_history_as_pacs(fake, county):
    load(county)
    history = PropertyValue.objects.filter(county=county, roll_year=2026, source="pacs")
    assert history.count() == PARCELS
    for prop in Property.objects.filter(county=county)[:50]:
        row = history.get(property=prop)
        assert (row.land_value, row.improvement_value, row.market_value) == (
            prop.land_value, prop.improvement_value, prop.market_value
        )  # fmt: skip
        assert row.market_value == row.land_value + row.improvement_value


def test_loading_twice_changes_nothing(fake, county):
    first = load(county)
    before = list(Property.objects.filter(county=county).order_by("pk").values())
    second = load(county)
    assert second["inserted"] == 0 and second["updated"] == 0 and second["unchanged"] == first["inserted"]
    assert second["sales_inserted"] == second["sales_updated"] == second["sales_deleted"] == 0
    assert second["values_inserted"] == second["values_updated"] == 0
    assert list(Property.objects.filter(county=county).order_by("pk").values()) == before
    assert not PropertyChange.objects.filter(county=county).exists()  # a first load's record is its job
    assert set(Property.objects.filter(county=county).values_list("created_by_job", flat=True)) == {first["job"].pk}


def test_a_load_leaves_the_planners_statistics_of_the_county_up_to_date(
    fake, county, django_capture_on_commit_callbacks
):
    def believed() -> int:  # the planner's estimate of the county's parcels
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) SELECT 1 FROM properties_property WHERE county_id = %s", [county.pk])
            plan = cursor.fetchone()[0]
        return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"]

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE properties_property")  # as autovacuum would leave it: the county empty
    assert believed() <= 1
    with django_capture_on_commit_callbacks(execute=True) as analyzed:
        load(county)
    assert analyzed  # the ANALYZE waits for the commit: it holds a lock until the end of its transaction
    assert believed() >= Property.objects.filter(county=county).count() / 2


def test_rejects_name_the_record_field_and_reason(fake, county):
    result = load(county)
    rejects = IngestionReject.objects.filter(job=result["job"])
    assert rejects.count() == result["rejected"] > 0
    reasons = {(r.table, r.field) for r in rejects}
    assert ("sale", "sale_price") in reasons  # NULL sl_price
    assert ("sale", "validity_code") in reasons  # a ratio code sale_ratio_type does not know
    unknown = rejects.filter(field="validity_code").first()
    assert unknown.value == "99" and unknown.record_key.startswith("chg_of_owner_id=")


def test_a_dry_run_writes_nothing(fake, county):
    result = load(county, dry_run=True)
    assert result["inserted"] == PARCELS
    assert not Property.objects.filter(county=county).exists()
    assert not IngestionReject.objects.filter(county=county).exists()


def pacs_exemptions() -> dict[int, list[tuple[str, float]]]:
    """PACS's exemptions of 2026 in each property's current supplement, read straight from the fake."""
    from django.db import connections

    with connections["pacs"].cursor() as cursor:
        cursor.execute(
            "SELECT e.prop_id, e.exmpt_type_cd, e.exemption_pct FROM property_exemption e JOIN prop_supp_assoc psa "
            "ON psa.prop_id = e.prop_id AND psa.owner_tax_yr = e.exmpt_tax_yr AND psa.sup_num = e.sup_num "
            "WHERE e.exmpt_tax_yr = 2026"
        )
        found: dict[int, list[tuple[str, float]]] = {}
        for prop_id, kind, percent in cursor.fetchall():
            found.setdefault(prop_id, []).append((kind.strip(), float(percent)))
    return found


def test_exemptions_load_and_a_changed_one_is_updated_and_audited(fake, county):
    from terrafusion.testing.pacs import pacs_execute

    exempt = pacs_exemptions()
    assert exempt, "the fake writes senior exemptions"
    load(county)
    loaded = dict(Property.objects.filter(county=county).values_list("property_id", "exemptions"))
    for prop_id, text in loaded.items():
        expected = "; ".join(f"{kind} {percent:g}%" for kind, percent in sorted(exempt.get(prop_id, [])))
        assert text == expected, prop_id
    changed = next(iter(exempt))
    percent = "UPDATE property_exemption SET exemption_pct = {} WHERE prop_id = {} AND exmpt_tax_yr = 2026"
    pacs_execute(percent.format(50, int(changed)))
    try:
        again = load(county)
        assert again["updated"] == 1
        parcel = Property.objects.get(county=county, property_id=changed)
        assert parcel.exemptions == f"{exempt[changed][0][0]} 50%"
        change = PropertyChange.objects.get(county=county, property=parcel)
        assert change.changes["exemptions"] == {"old": f"{exempt[changed][0][0]} 100%", "new": parcel.exemptions}
    finally:
        pacs_execute(percent.format(100, int(changed)))
