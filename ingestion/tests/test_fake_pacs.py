"""The fake PACS databases: the demo county survives the trip, and every quirk a loader must survive is there.

Each check reads the DATA back with SQL from a real SQLite file and a real PostgreSQL database. The SQL is
built from the tests' own constants (hence S608 is off for this file).
"""
# ruff: noqa: S608

import re
import secrets
import sqlite3
from decimal import Decimal

import numpy as np
import psycopg
import pytest
from django.core.management import CommandError, call_command
from pyproj import Transformer

from ingestion.pacs.fake import (
    ATTR_BEDROOMS,
    ATTR_FULL_BATHS,
    ATTR_HALF_BATHS,
    CONDITION_PACS_CODES,
    META_TABLE,
    QUALITY_CLASS_CODES,
    UNKNOWN_RATIO_CODE,
    FakePacsError,
    fake_pacs_create,
)
from ingestion.pacs.schema import TABLES
from properties.demo import SALE_KINDS, demo_data_generate
from properties.demo.model import CLASS_CODES, CONDITION_CODES, QUALITY_CODES

PG = "postgres://postgres@127.0.0.1:5432"
N, SEED, YEARS = 1500, 7, [2024, 2025, 2026]
WORKING, CERTIFIED = 2026, 2025


class Db:
    """One connection, one query style for both engines (no parameters: the tests' SQL is literal)."""

    def __init__(self, engine: str, conn) -> None:
        self.engine, self.conn = engine, conn

    def rows(self, sql: str) -> list[tuple]:
        return list(self.conn.execute(sql).fetchall())

    def one(self, sql: str):
        return self.rows(sql)[0][0]


def _pg_drop(name: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def pg_name():
    name = f"tf_fakepacs_{secrets.token_hex(4)}"
    yield name
    _pg_drop(name)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request, tmp_path_factory, pg_name):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fake')}/pacs.sqlite3"
    else:
        url = f"{PG}/{pg_name}"
    fake_pacs_create(url, properties=N, years=YEARS, seed=SEED, replace=True)
    if request.param == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    else:
        conn = psycopg.connect(url, autocommit=True)
    yield Db(request.param, conn)
    conn.close()


@pytest.fixture(scope="module")
def demo():
    return demo_data_generate(parcels=N, seed=SEED, working_year=WORKING)


def _number(value) -> float | None:
    return None if value is None else float(value)


# Current, real, active, not-UDI-child rows of a year: what a loader configured for real property reads.
CURRENT = """
FROM prop_supp_assoc psa
JOIN property_val pv ON pv.prop_id = psa.prop_id AND pv.prop_val_yr = psa.owner_tax_yr AND pv.sup_num = psa.sup_num
JOIN property p ON p.prop_id = pv.prop_id
WHERE psa.owner_tax_yr = {year} AND trim(p.prop_type_cd) = 'R' AND pv.prop_inactive_dt IS NULL
  AND pv.udi_parent_prop_id IS NULL
"""


# --- The demo survives the trip -----------------------------------------------------------------------------------


@pytest.mark.parametrize("year", [CERTIFIED, WORKING])
def test_current_values_are_the_demos(db, demo, year):
    rows = db.rows(
        "SELECT pv.prop_id, coalesce(pv.land_hstd_val, 0) + coalesce(pv.land_non_hstd_val, 0) "
        "+ coalesce(pv.ag_market, 0) + coalesce(pv.timber_market, 0), pv.imprv_val, pv.market, pv.assessed_val "
        + CURRENT.format(year=year)
        + " ORDER BY pv.prop_id"
    )
    got = np.asarray([[float(v) for v in r] for r in rows])
    order = np.argsort(demo.property_ids)
    expected = demo.values[year]
    assert got[:, 0].astype(np.int64).tolist() == demo.property_ids[order].tolist()
    assert got[:, 1].tolist() == expected.land[order].astype(float).tolist()
    assert got[:, 2].tolist() == expected.improvement[order].astype(float).tolist()
    assert got[:, 3].tolist() == expected.market[order].astype(float).tolist()
    assert got[:, 4].tolist() == got[:, 3].tolist()


def test_current_characteristics_are_the_demos(db, demo):
    index = {int(p): i for i, p in enumerate(demo.property_ids)}
    chars = demo.chars
    area = dict(
        db.rows(
            "SELECT d.prop_id, sum(d.imprv_det_area) FROM imprv_detail d JOIN prop_supp_assoc psa "
            "ON psa.prop_id = d.prop_id AND psa.owner_tax_yr = d.prop_val_yr AND psa.sup_num = d.sup_num "
            f"WHERE d.prop_val_yr = {WORKING} AND d.sale_id = 0 AND trim(d.imprv_det_type_cd) = 'MA' GROUP BY d.prop_id"
        )
    )
    attrs = db.rows(
        "SELECT a.prop_id, a.imprv_attr_id, a.i_attr_unit FROM imprv_attr a JOIN prop_supp_assoc psa "
        "ON psa.prop_id = a.prop_id AND psa.owner_tax_yr = a.prop_val_yr AND psa.sup_num = a.sup_num "
        f"WHERE a.prop_val_yr = {WORKING} AND a.sale_id = 0"
    )
    by_prop: dict[int, dict[int, float]] = {}
    for prop, attr, unit in attrs:
        by_prop.setdefault(prop, {})[attr] = float(unit)
    main = db.rows(
        "SELECT i.prop_id, i.actual_year_built, i.effective_yr_blt, i.imprv_val FROM imprv i JOIN prop_supp_assoc psa "
        "ON psa.prop_id = i.prop_id AND psa.owner_tax_yr = i.prop_val_yr AND psa.sup_num = i.sup_num "
        f"WHERE i.prop_val_yr = {WORKING} AND i.sale_id = 0 ORDER BY i.prop_id, i.imprv_val DESC"
    )
    first = {}
    for prop, built, effective, _ in main:
        first.setdefault(prop, (int(built), int(effective)))
    codes = {
        r[0]: (r[1].strip(), r[2].strip())
        for r in db.rows(
            "SELECT d.prop_id, d.imprv_det_class_cd, d.condition_cd FROM imprv_detail d JOIN prop_supp_assoc psa "
            "ON psa.prop_id = d.prop_id AND psa.owner_tax_yr = d.prop_val_yr AND psa.sup_num = d.sup_num "
            f"WHERE d.prop_val_yr = {WORKING} AND d.sale_id = 0 AND trim(d.imprv_det_type_cd) = 'MA'"
        )
    }
    land = dict(
        db.rows(
            "SELECT l.prop_id, sum(l.size_square_feet) FROM land_detail l JOIN prop_supp_assoc psa "
            "ON psa.prop_id = l.prop_id AND psa.owner_tax_yr = l.prop_val_yr AND psa.sup_num = l.sup_num "
            f"WHERE l.prop_val_yr = {WORKING} AND l.sale_id = 0 GROUP BY l.prop_id"
        )
    )
    quality = {v: k for k, v in QUALITY_CLASS_CODES.items()}
    condition = {v: k for k, v in CONDITION_PACS_CODES.items()}
    for prop, i in index.items():
        assert round(float(land[prop]), 2) == round(float(chars.land_sqft[i]), 2)
        if chars.vacant[i]:
            assert prop not in area and prop not in by_prop
            continue
        assert float(area[prop]) == float(chars.living_area[i])
        attr = by_prop[prop]
        assert attr.get(ATTR_BEDROOMS, 0) == chars.bedrooms[i]
        assert attr[ATTR_FULL_BATHS] + 0.5 * attr.get(ATTR_HALF_BATHS, 0) == chars.bathrooms[i]
        assert first[prop] == (chars.year_built[i], chars.effective_year[i])
        assert quality[codes[prop][0]] == QUALITY_CODES[chars.quality[i]]
        assert condition[codes[prop][1]] == CONDITION_CODES[chars.condition[i]]


def test_current_texts_are_the_demos(db, demo):
    index = {int(p): i for i, p in enumerate(demo.property_ids)}
    rows = db.rows(
        "SELECT p.prop_id, p.geo_id, pv.legal_desc, pv.hood_cd, pv.property_use_cd, p.state_cd "
        + CURRENT.format(year=WORKING)
    )
    assert len(rows) == N
    for prop, geo, legal, hood, use, state in rows:
        i = index[prop]
        assert geo == demo.parcel_numbers[i]
        assert " ".join(legal.split()) == demo.legal[i]
        assert hood.strip() == demo.neighborhoods.codes[demo.chars.neighborhood[i]]
        assert use == state.strip() == CLASS_CODES[demo.chars.class_index[i]]
    situs = db.rows(
        "SELECT prop_id, situs_num, situs_street_prefx, situs_street, situs_street_sufix, situs_city, situs_zip "
        "FROM situs WHERE primary_situs = 'Y'"
    )
    got = {r[0]: (" ".join(r[1:5]), r[5], r[6]) for r in situs}
    for prop, i in index.items():
        assert got[prop] == (demo.situs[i], demo.situs_city[i], demo.situs_zip[i])
    owners = db.rows(
        "SELECT o.prop_id, a.file_as_name, ad.addr_line1, ad.addr_city, ad.addr_state, ad.zip, o.pct_ownership "
        "FROM owner o JOIN prop_supp_assoc psa ON psa.prop_id = o.prop_id AND psa.owner_tax_yr = o.owner_tax_yr "
        "AND psa.sup_num = o.sup_num JOIN account a ON a.acct_id = o.owner_id "
        "JOIN address ad ON ad.acct_id = a.acct_id AND ad.primary_addr = 'Y' "
        f"WHERE o.owner_tax_yr = {WORKING} ORDER BY o.prop_id, o.pct_ownership DESC, o.owner_id"
    )
    primary = {}
    for prop, name, line, city, state, zip_code, _ in owners:
        primary.setdefault(prop, (name, f"{line}, {city}, {state} {zip_code}"))
    for prop, i in index.items():
        assert primary[prop] == (demo.owner_names[i], demo.owner_addresses[i])


def test_sales_are_the_demos(db, demo):
    rows = db.rows(
        "SELECT s.chg_of_owner_id, s.sl_price, s.sl_dt, s.sl_ratio_type_cd, c.deed_type_cd, c.excise_number, "
        "a.prop_id, coalesce(s.adjusted_sl_price, s.sl_price) FROM sale s "
        "JOIN chg_of_owner c ON c.chg_of_owner_id = s.chg_of_owner_id "
        "JOIN chg_of_owner_prop_assoc a ON a.chg_of_owner_id = s.chg_of_owner_id"
    )
    got = {}
    for coo, price, date, code, deed, excise, prop, adjusted in rows:
        got.setdefault(coo, []).append((price, str(date)[:10], code, deed, excise, prop, adjusted))
    sales = demo.sales
    codes = [k.code for k in SALE_KINDS]
    for k in range(sales.sale_id.size):
        [(price, date, code, deed, excise, prop, adjusted)] = got[int(sales.sale_id[k])]
        assert float(price) == float(adjusted) == float(sales.price[k])
        assert date == str(sales.date[k])
        assert code == codes[sales.kind[k]].ljust(5)
        assert deed == sales.deed[k].ljust(10)
        assert excise == int(sales.excise_number[k])
        assert prop == int(demo.property_ids[sales.parcel[k]])


def test_meta_table_holds_the_model_and_parameters(db, demo):
    import json

    meta = dict(db.rows(f"SELECT key, value FROM {META_TABLE}"))
    assert json.loads(meta["demo_model"]) == json.loads(json.dumps(demo.model_json(seed=SEED)))
    parameters = json.loads(meta["parameters"])
    assert parameters["properties"] == N and parameters["seed"] == SEED and parameters["years"] == YEARS
    assert db.rows("SELECT id, tax_yr, appr_yr FROM pacs_system") == [(1, CERTIFIED, WORKING)] or db.rows(
        "SELECT id, tax_yr, appr_yr FROM pacs_system"
    ) == [(1, Decimal(CERTIFIED), Decimal(WORKING))]
    certified = db.rows("SELECT tax_yr, certification_dt IS NOT NULL FROM pacs_year ORDER BY tax_yr")
    assert [(int(y), bool(c)) for y, c in certified] == [(2024, True), (2025, True), (2026, False)]


# --- The quirks -----------------------------------------------------------------------------------------------------


def test_char_columns_are_blank_padded(db):
    assert db.one("SELECT prop_type_cd FROM property WHERE prop_type_cd LIKE 'R%' LIMIT 1") == "R    "
    assert db.one("SELECT sl_ratio_type_cd FROM sale WHERE sl_ratio_type_cd LIKE '00%' LIMIT 1") == "00   "
    assert db.one("SELECT imprv_det_type_cd FROM imprv_detail WHERE imprv_det_type_cd LIKE 'MA%' LIMIT 1") == (
        "MA        "
    )
    assert db.one("SELECT addr_type_cd FROM address LIMIT 1") == "M    "


def test_one_current_supplement_per_year_and_property_with_stale_older_ones(db):
    for year in YEARS:
        assert (
            db.one(
                f"SELECT count(*) FROM (SELECT prop_id FROM prop_supp_assoc WHERE owner_tax_yr = {year} "
                "GROUP BY prop_id HAVING count(*) > 1) x"
            )
            == 0
        )
        assert db.one(f"SELECT count(*) FROM prop_supp_assoc WHERE owner_tax_yr = {year}") == db.one(
            f"SELECT count(DISTINCT prop_id) FROM property_val WHERE prop_val_yr = {year}"
        )
    # The current one is the highest, and the older ones carry other values.
    assert (
        db.one(
            "SELECT count(*) FROM prop_supp_assoc psa WHERE psa.sup_num <> (SELECT max(sup_num) FROM property_val pv "
            "WHERE pv.prop_id = psa.prop_id AND pv.prop_val_yr = psa.owner_tax_yr)"
        )
        == 0
    )
    pairs = db.rows(
        "SELECT cur.market, old.market, old.sup_num, cur.sup_num, old.sup_cd, cur.prev_sup_num "
        "FROM prop_supp_assoc psa "
        "JOIN property_val cur ON cur.prop_id = psa.prop_id AND cur.prop_val_yr = psa.owner_tax_yr "
        "AND cur.sup_num = psa.sup_num JOIN property_val old ON old.prop_id = psa.prop_id "
        "AND old.prop_val_yr = psa.owner_tax_yr AND old.sup_num < psa.sup_num"
    )
    assert len(pairs) > 0.05 * N
    assert all(cur != old for cur, old, *_ in pairs)
    assert any(cur_sup == 2 for *_, cur_sup, _, _ in pairs)
    assert all(prev == cur_sup - 1 for *_, cur_sup, _, prev in pairs)
    stale_areas = db.one(
        "SELECT count(*) FROM (SELECT d.prop_id, d.sup_num, sum(d.imprv_det_area) a FROM imprv_detail d "
        f"WHERE d.sale_id = 0 AND trim(d.imprv_det_type_cd) = 'MA' AND d.prop_val_yr = {WORKING} "
        "GROUP BY d.prop_id, d.sup_num) x JOIN (SELECT d.prop_id, d.sup_num, sum(d.imprv_det_area) a "
        f"FROM imprv_detail d WHERE d.sale_id = 0 AND trim(d.imprv_det_type_cd) = 'MA' AND d.prop_val_yr = {WORKING} "
        "GROUP BY d.prop_id, d.sup_num) y ON x.prop_id = y.prop_id AND x.sup_num < y.sup_num WHERE x.a <> y.a"
    )
    assert stale_areas > 0


def test_null_money_is_present(db):
    assert db.one("SELECT count(*) FROM property_val WHERE land_hstd_val IS NULL") > 0.2 * N
    assert db.one("SELECT count(*) FROM property_val WHERE land_non_hstd_val IS NULL") > 0
    assert db.one("SELECT count(*) FROM property_val WHERE imprv_hstd_val IS NULL") > 0
    assert db.one("SELECT count(*) FROM property_val WHERE ag_market IS NULL") > 0.9 * N
    assert db.one("SELECT count(*) FROM property_val WHERE ag_market = 0") > 0
    # Homestead splits: both land columns non-zero.
    assert db.one("SELECT count(*) FROM property_val WHERE land_hstd_val > 0 AND land_non_hstd_val > 0") > 0


def test_free_text_has_crlf_and_stray_whitespace(db):
    crlf = db.one(
        "SELECT count(*) FROM property_val WHERE legal_desc LIKE '%' || char(13) || char(10) || '%'".replace(
            "char(13) || char(10)", "chr(13) || chr(10)" if db.engine == "postgresql" else "char(13, 10)"
        )
    )
    assert crlf > 0.02 * N
    assert db.one("SELECT count(*) FROM property_val WHERE legal_desc LIKE '% ' OR legal_desc LIKE ' %'") > 0
    assert db.one("SELECT count(*) FROM property_val WHERE hood_cd LIKE '% '") > 0
    comments = [r[0] for r in db.rows("SELECT comment FROM chg_of_owner WHERE comment IS NOT NULL")]
    assert any("\r\n" in c for c in comments)
    assert db.one("SELECT count(*) FROM property_val WHERE legal_desc_2 IS NOT NULL") > 0


def test_consideration_is_text(db):
    values = [r[0] for r in db.rows("SELECT consideration FROM chg_of_owner WHERE consideration IS NOT NULL")]
    assert all(re.fullmatch(r"\$[0-9,]+\.00 *", v) for v in values)
    assert any("," in v for v in values)


def test_inactive_and_non_real_properties(db):
    inactive = db.rows(
        "SELECT p.prop_type_cd, pv.prop_val_yr FROM property_val pv JOIN property p ON p.prop_id = pv.prop_id "
        "WHERE pv.prop_inactive_dt IS NOT NULL"
    )
    assert inactive and {t for t, _ in inactive} == {"R    "}
    assert {int(y) for _, y in inactive} == {CERTIFIED, WORKING}  # active in the older year
    types = dict(db.rows("SELECT trim(prop_type_cd), count(*) FROM property GROUP BY trim(prop_type_cd)"))
    assert set(types) == {"R", "P", "MH", "A", "MN"}
    assert sum(v for k, v in types.items() if k != "R") >= 0.02 * N
    assert db.one("SELECT count(*) FROM property_type") == 5
    assert (
        db.one(
            "SELECT count(*) FROM property_val pv JOIN property p ON p.prop_id = pv.prop_id "
            f"WHERE trim(p.prop_type_cd) = 'MH' AND pv.prop_val_yr = {WORKING}"
        )
        > 0
    )


def test_udi_parents_and_children(db, demo):
    parents = {r[0] for r in db.rows("SELECT prop_id FROM property_val WHERE udi_parent = 'T'")}
    children = db.rows(
        "SELECT DISTINCT prop_id, udi_parent_prop_id FROM property_val WHERE udi_parent_prop_id IS NOT NULL"
    )
    assert parents and children
    assert {int(p) for _, p in children} == parents
    assert parents <= set(demo.property_ids.tolist())  # parents are demo parcels, children extra ones
    assert not {c for c, _ in children} & set(demo.property_ids.tolist())


def test_several_owners_accounts_and_addresses(db):
    two = db.rows(
        f"SELECT prop_id, sum(pct_ownership), count(*) FROM owner WHERE owner_tax_yr = {WORKING} "
        "GROUP BY prop_id, sup_num HAVING count(*) > 1"
    )
    assert len(two) > 0.05 * N and all(float(total) == 100 for _, total, _ in two)
    assert (
        db.one("SELECT count(*) FROM owner o LEFT JOIN account a ON a.acct_id = o.owner_id WHERE a.acct_id IS NULL")
        == 0
    )
    assert db.one("SELECT count(*) FROM address WHERE primary_addr = 'N'") > 0
    assert (
        db.one(
            "SELECT count(*) FROM (SELECT acct_id FROM address WHERE primary_addr = 'Y' GROUP BY acct_id "
            "HAVING count(*) <> 1) x"
        )
        == 0
    )


def test_several_situs_rows_with_one_primary(db):
    multi = db.rows(
        "SELECT prop_id, sum(CASE WHEN primary_situs = 'Y' THEN 1 ELSE 0 END), count(*), "
        "min(CASE WHEN primary_situs = 'Y' THEN situs_id END) - min(situs_id) FROM situs GROUP BY prop_id "
        "HAVING count(*) > 1"
    )
    assert len(multi) > 0.01 * N
    assert all(primaries == 1 for _, primaries, _, _ in multi)
    assert any(offset > 0 for *_, offset in multi)  # the primary is not always the first
    display = db.one("SELECT situs_display FROM situs WHERE primary_situs = 'Y' LIMIT 1")
    assert "\r\n" in display and display.endswith(
        ("99350", "99320", "99353", "99352", "99354", "99338", "99336", "99337")
    )


def test_several_improvements_and_land_segments(db):
    second = db.rows(
        f"SELECT prop_id, count(*), max(imprv_val), min(imprv_val) FROM imprv WHERE prop_val_yr = {WORKING} "
        "AND sale_id = 0 GROUP BY prop_id, sup_num HAVING count(*) > 1"
    )
    assert len(second) > 0.1 * N
    assert all(hi > lo for _, _, hi, lo in second)
    split_ma = db.one(
        f"SELECT count(*) FROM (SELECT prop_id FROM imprv_detail WHERE prop_val_yr = {WORKING} AND sale_id = 0 "
        "AND trim(imprv_det_type_cd) = 'MA' GROUP BY prop_id, sup_num HAVING count(*) = 2) x"
    )
    assert split_ma > 0.05 * N
    other = {r[0].strip() for r in db.rows("SELECT DISTINCT imprv_det_type_cd FROM imprv_detail")}
    assert {"MA", "GAR", "PORCH"} <= other
    segments = db.one(
        f"SELECT count(*) FROM (SELECT prop_id FROM land_detail WHERE prop_val_yr = {WORKING} AND sale_id = 0 "
        "GROUP BY prop_id, sup_num HAVING count(*) = 2) x"
    )
    assert segments > 0.05 * N
    assert db.one("SELECT land_type_cd FROM land_detail LIMIT 1").endswith("  ")


def test_sale_snapshots_differ_from_live_rows(db):
    pairs = db.rows(
        "SELECT s.prop_id, s.sale_id, sum(s.imprv_det_area), (SELECT sum(l.imprv_det_area) FROM imprv_detail l "
        "WHERE l.prop_id = s.prop_id AND l.prop_val_yr = s.prop_val_yr AND l.sup_num = s.sup_num AND l.sale_id = 0 "
        "AND trim(l.imprv_det_type_cd) = 'MA') FROM imprv_detail s WHERE s.sale_id > 0 "
        "AND trim(s.imprv_det_type_cd) = 'MA' GROUP BY s.prop_id, s.sale_id, s.prop_val_yr, s.sup_num"
    )
    assert len(pairs) > 0.05 * N
    assert all(snapshot != live for _, _, snapshot, live in pairs)
    known = {r[0] for r in db.rows("SELECT chg_of_owner_id FROM chg_of_owner")}
    assert {sale for _, sale, _, _ in pairs} <= known
    for table in ("imprv", "imprv_attr", "land_detail"):
        assert db.one(f"SELECT count(*) FROM {table} WHERE sale_id > 0") > 0


def test_multi_parcel_null_price_and_unknown_code_sales(db, demo):
    multi = db.rows(
        "SELECT chg_of_owner_id, count(*) FROM chg_of_owner_prop_assoc GROUP BY chg_of_owner_id HAVING count(*) >= 2"
    )
    assert len(multi) >= 0.01 * demo.sales.sale_id.size
    assert min(coo for coo, _ in multi) > int(demo.sales.sale_id.max())
    assert db.one("SELECT count(*) FROM sale WHERE sl_price IS NULL") > 0
    unknown = db.rows(
        "SELECT s.sl_ratio_type_cd FROM sale s LEFT JOIN sale_ratio_type t ON t.sl_ratio_type_cd = s.sl_ratio_type_cd "
        "WHERE t.sl_ratio_type_cd IS NULL"
    )
    assert unknown and {u for (u,) in unknown} == {UNKNOWN_RATIO_CODE.ljust(5)}
    valid = db.rows("SELECT sl_ratio_type_cd, invalid_sale FROM sale_ratio_type")
    assert {c.strip() for c, invalid in valid if not invalid} == {"00"}
    assert {f"0{i}" for i in range(1, 9)} <= {c.strip() for c, _ in valid}
    # seq_num 0 is each property's latest conveyance.
    assert (
        db.one(
            "SELECT count(*) FROM (SELECT prop_id FROM chg_of_owner_prop_assoc WHERE seq_num = 0 GROUP BY prop_id "
            "HAVING count(*) <> 1) x"
        )
        == 0
    )
    assert db.one("SELECT count(*) FROM sale WHERE adjusted_sl_price IS NULL AND sl_price IS NOT NULL") > 0


def test_state_plane_coordinates_round_trip(db, demo):
    import shapely

    rows = db.rows(f"SELECT pv.prop_id, pv.gis_real_coord_x, pv.gis_real_coord_y {CURRENT.format(year=WORKING)}")
    missing = [r for r in rows if r[1] is None]
    assert 0 < len(missing) < 0.03 * N
    present = [r for r in rows if r[1] is not None]
    index = {int(p): i for i, p in enumerate(demo.property_ids)}
    to_lonlat = Transformer.from_crs("EPSG:2927", "EPSG:4326", always_xy=True)
    to_feet = Transformer.from_crs("EPSG:4326", "EPSG:2927", always_xy=True)
    point = shapely.point_on_surface(demo.polygons)
    i = np.asarray([index[r[0]] for r in present])
    lon, lat = to_lonlat.transform(
        np.asarray([float(r[1]) for r in present]), np.asarray([float(r[2]) for r in present])
    )
    x, y = to_feet.transform(lon, lat)
    ex, ey = to_feet.transform(shapely.get_x(point)[i], shapely.get_y(point)[i])
    assert np.max(np.hypot(np.asarray(x) - ex, np.asarray(y) - ey)) < 1.0
    assert np.max(np.abs(lon - shapely.get_x(point)[i])) < 1e-5


def test_profiles_neighborhoods_and_lookups(db, demo):
    assert db.one(f"SELECT count(*) FROM property_profile WHERE prop_val_yr = {WORKING}") >= N
    assert db.one("SELECT count(*) FROM neighborhood") == len(demo.neighborhoods.codes) * len(YEARS)
    assert db.one("SELECT count(*) FROM property_use") == len(CLASS_CODES)
    assert {r[0] for r in db.rows("SELECT imprv_attr_id FROM attribute")} >= {15, 45, 46}
    assert db.one("SELECT count(*) FROM deed_type") >= 7


def test_every_schema_table_exists(db):
    for name, table in TABLES.items():
        db.rows(f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in table.columns)} FROM {name} LIMIT 1")


def test_other_years_are_trended(db, demo):
    markets = dict(db.rows(f"SELECT pv.prop_id, pv.market {CURRENT.format(year=2024)}"))
    index = {int(p): i for i, p in enumerate(demo.property_ids)}
    ratios = [float(markets[p]) / demo.values[CERTIFIED].market[i] for p, i in index.items() if p in markets]
    assert 0.93 < np.median(ratios) < 0.97  # about 5% a year lower


# --- Engines: generated columns, rowversion; determinism; replace ---------------------------------------------------


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_generated_columns_and_rowversion_trigger(engine, tmp_path):
    name = f"tf_fakepacs_{secrets.token_hex(4)}"
    url = f"sqlite:///{tmp_path}/small.sqlite3" if engine == "sqlite" else f"{PG}/{name}"
    try:
        fake_pacs_create(url, properties=60, years=[2026], seed=3)
        conn = sqlite3.connect(url.removeprefix("sqlite:///")) if engine == "sqlite" else psycopg.connect(url)
        db = Db(engine, conn)
        # schema.py lists tsRowVersion on property_val only (SCHEMA.md's column lists).
        top = db.one('SELECT max("tsRowVersion") FROM property_val')
        assert top and db.one('SELECT count(DISTINCT "tsRowVersion") FROM property_val') == db.one(
            "SELECT count(*) FROM property_val"
        )
        prop = db.one("SELECT prop_id FROM property_val WHERE imprv_non_hstd_val IS NOT NULL LIMIT 1")
        before = db.one(f'SELECT "tsRowVersion" FROM property_val WHERE prop_id = {prop}')
        conn.execute(f"UPDATE property_val SET imprv_hstd_val = 1234, imprv_non_hstd_val = 1 WHERE prop_id = {prop}")
        after = db.one(f'SELECT "tsRowVersion" FROM property_val WHERE prop_id = {prop}')
        assert after > max(before, top)
        assert float(db.one(f"SELECT imprv_val FROM property_val WHERE prop_id = {prop}")) == 1235
        conn.execute(f"UPDATE property_val SET legal_desc = 'X' WHERE prop_id = {prop}")
        assert db.one(f'SELECT "tsRowVersion" FROM property_val WHERE prop_id = {prop}') > after
        conn.execute(f"UPDATE situs SET situs_unit = ' 7 ' WHERE prop_id = {prop}")
        assert " 7\r\n" in db.one(f"SELECT situs_display FROM situs WHERE prop_id = {prop} AND primary_situs = 'Y'")
        conn.close()
    finally:
        if engine == "postgresql":
            _pg_drop(name)


def _dump(path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_same_seed_same_rows(tmp_path):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        fake_pacs_create(f"sqlite:///{tmp_path}/{name}.sqlite3", properties=300, years=[2025, 2026], seed=seed)
    a, b, c = (_dump(tmp_path / f"{n}.sqlite3") for n in "abc")
    assert a == b
    assert a != c


def test_replace_refuses_then_accepts(tmp_path):
    url = f"sqlite:///{tmp_path}/r.sqlite3"
    fake_pacs_create(url, properties=50, years=[2026], seed=1)
    with pytest.raises(FakePacsError, match="--replace"):
        fake_pacs_create(url, properties=50, years=[2026], seed=1)
    with pytest.raises(CommandError, match="--replace"):
        call_command("make_fake_pacs", url=url, properties=50, years=[2026], seed=1)
    summary = fake_pacs_create(url, properties=80, years=[2025, 2026], seed=2, replace=True)
    assert summary.counts["property"] > 80 and summary.working_year == 2026
    assert sqlite3.connect(tmp_path / "r.sqlite3").execute("SELECT count(*) FROM pacs_year").fetchone()[0] == 2


def test_replace_on_postgresql(capsys):
    name = f"tf_fakepacs_{secrets.token_hex(4)}"
    url = f"{PG}/{name}"
    try:
        call_command("make_fake_pacs", url=url, properties=40, years=[2026], seed=1)
        assert "property_val" in capsys.readouterr().out
        with pytest.raises(CommandError, match="--replace"):
            call_command("make_fake_pacs", url=url, properties=40, years=[2026], seed=1)
        call_command("make_fake_pacs", url=url, properties=40, years=[2025, 2026], seed=1, replace=True)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM pacs_year").fetchone()[0] == 2
    finally:
        _pg_drop(name)


def test_a_failure_leaves_nothing_half_made(tmp_path, monkeypatch):
    import ingestion.pacs.fake as fake

    def broken(plan):
        raise RuntimeError("boom")

    monkeypatch.setattr(fake, "_sales_build", broken)
    name = f"tf_fakepacs_{secrets.token_hex(4)}"
    try:
        for url in (f"sqlite:///{tmp_path}/f.sqlite3", f"{PG}/{name}"):
            with pytest.raises(RuntimeError, match="boom"):
                fake_pacs_create(url, properties=40, years=[2026], seed=1)
        assert not (tmp_path / "f.sqlite3").exists()
        with psycopg.connect(f"{PG}/{name}") as conn:
            assert (
                conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'property'").fetchone()[
                    0
                ]
                == 0
            )
    finally:
        _pg_drop(name)
