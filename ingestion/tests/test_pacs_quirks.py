"""One test per quirk of SCHEMA.md: what the fake PACS makes of it, and what the load makes of that.

The fake (ingestion/pacs/fake.py) writes each quirk into the demo county's rows; each test finds affected
properties in PACS with SQL and checks the loaded parcel against the demo county generated from the same seed.
"""
# ruff: noqa: S608, E501 - the fake PACS's SQL, from the tests' own constants

import pytest
from django.db import connections

from counties.models import County
from ingestion.tests.test_pacs_load import PARCELS, SEED, load
from properties.demo import demo_county_generate
from properties.models import Property, Sale
from terrafusion.testing.pacs import pacs_fill

pytestmark = pytest.mark.django_db(databases=["default", "pacs"])


@pytest.fixture(scope="module")
def fake(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return pacs_fill(properties=PARCELS, years=[2025, 2026], seed=SEED)


@pytest.fixture
def loaded(fake, county):
    demo_county_generate(slug="truth", parcels=PARCELS, seed=SEED, working_year=2026)
    result = load(county)
    ours = {p.property_id: p for p in Property.objects.filter(county=county)}
    truth = {p.property_id: p for p in Property.objects.filter(county=County.objects.get(slug="truth"))}
    return result, ours, truth


def pacs(sql: str, params=()) -> list[tuple]:
    with connections["pacs"].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def loaded_among(rows: list[tuple], ours: dict) -> list[int]:
    """The prop_ids (first column) of PACS rows that were loaded; some must be, or the test would check nothing."""
    keys = [row[0] for row in rows if row[0] in ours]
    assert keys, "none of the affected properties was loaded: the test would check nothing"
    return keys


CURRENT = "JOIN prop_supp_assoc psa ON psa.prop_id = {t}.prop_id AND psa.owner_tax_yr = {t}.{year} AND psa.sup_num = {t}.sup_num"


def test_blank_padded_codes_are_trimmed(loaded):
    _, ours, _ = loaded
    assert pacs("SELECT prop_type_cd FROM property LIMIT 1")[0][0] == "R    "  # CHAR(5), padded
    assert {p.property_type for p in ours.values()} == {"R"}
    assert {p.condition for p in ours.values()} <= {"", "poor", "fair", "average", "good", "excellent"}


def test_only_the_current_supplement_is_read(loaded):
    _, ours, truth = loaded
    rows = pacs("SELECT prop_id, sup_num FROM prop_supp_assoc WHERE owner_tax_yr = 2026 AND sup_num > 0")
    stale = pacs("SELECT pv.prop_id, pv.market FROM property_val pv JOIN prop_supp_assoc psa ON psa.prop_id = pv.prop_id "
                 "AND psa.owner_tax_yr = pv.prop_val_yr AND pv.sup_num < psa.sup_num WHERE pv.prop_val_yr = 2026")  # fmt: skip
    assert rows
    stale_markets = dict(stale)
    for prop_id in loaded_among(stale, ours):
        assert ours[prop_id].market_value == truth[prop_id].market_value != stale_markets[prop_id]


def test_null_money_counts_as_zero(loaded):
    _, ours, truth = loaded
    nulls = pacs(f"SELECT pv.prop_id FROM property_val pv {CURRENT.format(t='pv', year='prop_val_yr')} "
                 "WHERE pv.prop_val_yr = 2026 AND pv.land_hstd_val IS NULL AND pv.imprv_hstd_val IS NULL")  # fmt: skip
    for prop_id in loaded_among(nulls, ours):
        assert ours[prop_id].land_value == truth[prop_id].land_value is not None


def test_free_text_line_breaks_and_blanks_are_collapsed(loaded):
    _, ours, truth = loaded
    messy = pacs("SELECT pv.prop_id FROM property_val pv WHERE pv.prop_val_yr = 2026 AND pv.legal_desc LIKE %s",
                 ["%\r\n%"])  # fmt: skip
    for prop_id in loaded_among(messy, ours):
        assert "\r" not in ours[prop_id].legal_description
        assert ours[prop_id].legal_description == truth[prop_id].legal_description


def test_inactive_and_non_real_properties_are_not_loaded(loaded, fake):
    result, ours, _ = loaded
    for kind in ("inactive", "P", "MH", "A", "MN", "udi_child"):
        ids = {int(i) for i in fake.extra_property_ids[kind]}
        assert ids and not ids & set(ours), kind
    assert result["inactive_in_pacs"] > 0 and result["skipped_types"] > 0 and result["udi_children"] > 0
    parents = {int(i) for i in fake.udi_parent_ids} & set(ours)
    assert parents and all(ours[p].market_value is not None for p in parents)  # the parent carries the parcel


def test_the_owner_of_record_is_the_largest_share(loaded):
    _, ours, truth = loaded
    shared = pacs("SELECT prop_id FROM owner WHERE owner_tax_yr = 2026 GROUP BY prop_id, sup_num HAVING COUNT(*) > 1")
    for prop_id in loaded_among(shared, ours):
        assert ours[prop_id].owner_name == truth[prop_id].owner_name


def test_the_primary_situs_is_the_address(loaded):
    _, ours, truth = loaded
    several = pacs("SELECT prop_id FROM situs GROUP BY prop_id HAVING COUNT(*) > 1")
    for prop_id in loaded_among(several, ours):
        assert ours[prop_id].situs_address == truth[prop_id].situs_address


def test_the_main_improvement_and_main_areas_make_the_characteristics(loaded):
    _, ours, truth = loaded
    several = pacs(f"SELECT i.prop_id FROM imprv i {CURRENT.format(t='i', year='prop_val_yr')} WHERE i.prop_val_yr = "
                   "2026 AND i.sale_id = 0 GROUP BY i.prop_id HAVING COUNT(*) > 1")  # fmt: skip
    fields = ("year_built", "effective_year", "living_area", "quality", "condition", "bedrooms", "bathrooms")
    for prop_id in loaded_among(several, ours):
        assert [getattr(ours[prop_id], f) for f in fields] == [getattr(truth[prop_id], f) for f in fields]


def test_sale_snapshots_are_not_the_live_record(loaded):
    _, ours, truth = loaded
    frozen = pacs("SELECT DISTINCT prop_id FROM imprv WHERE prop_val_yr = 2026 AND sale_id > 0")
    for prop_id in loaded_among(frozen, ours):
        assert (ours[prop_id].year_built, ours[prop_id].living_area) == (
            truth[prop_id].year_built, truth[prop_id].living_area
        )  # fmt: skip


def test_land_segments_are_summed(loaded):
    _, ours, truth = loaded
    two = pacs(f"SELECT l.prop_id FROM land_detail l {CURRENT.format(t='l', year='prop_val_yr')} WHERE l.prop_val_yr "
               "= 2026 AND l.sale_id = 0 GROUP BY l.prop_id HAVING COUNT(*) > 1")  # fmt: skip
    for prop_id in loaded_among(two, ours):
        assert (ours[prop_id].land_area_sqft, ours[prop_id].acreage) == (
            truth[prop_id].land_area_sqft, truth[prop_id].acreage
        )  # fmt: skip


def test_a_multi_parcel_sale_is_on_each_parcel_flagged(loaded):
    _, ours, _ = loaded
    multi = pacs(
        "SELECT chg_of_owner_id, COUNT(*) FROM chg_of_owner_prop_assoc GROUP BY chg_of_owner_id HAVING COUNT(*) > 1"
    )
    assert multi
    for sale_id, parcels in multi:
        rows = Sale.objects.filter(sale_id=sale_id, property__property_id__in=list(ours))
        assert rows.count() == parcels and all(sale.is_multi_parcel for sale in rows)


def test_consideration_text_and_sale_codes(loaded):
    result, _, _ = loaded
    assert pacs("SELECT consideration FROM chg_of_owner WHERE consideration IS NOT NULL LIMIT 1")[0][0].startswith("$")
    assert any(r["field"] == "validity_code" and r["value"] == "99" for r in result["first_rejects"])
    assert Sale.objects.filter(validity_code="00", is_valid=True).exists()
    assert not Sale.objects.filter(is_valid=True).exclude(validity_code="00").exists()


def test_state_plane_coordinates_become_lon_lat(loaded):
    _, ours, truth = loaded
    compared = [p for p in ours if ours[p].latitude is not None]
    assert len(compared) > PARCELS * 0.9  # ~0.5% have no coordinates in PACS
    for prop_id in compared:
        assert abs(ours[prop_id].latitude - truth[prop_id].latitude) < 1e-6
        assert abs(ours[prop_id].longitude - truth[prop_id].longitude) < 1e-6
