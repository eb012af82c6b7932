"""The synthetic demo county: deterministic, internally consistent, and priced by the model it stores."""

import datetime
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import shapely
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from counties.config import CONFIGS_DIR
from counties.models import County, CountyGroupObjectPermission
from counties.roles import ROLES, group_name
from properties.choices import Condition, Quality
from properties.demo import SALE_KINDS, DemoCountyError, demo_county_generate, demo_data_generate
from properties.demo.model import CONDITION_CODES, QUALITY_CODES
from properties.geometry import geometry_columns
from properties.models import Neighborhood, Property, PropertyValue, Sale
from reporting.models import ReportJob
from terrafusion.testing.factories import CountyFactory, PropertyValueFactory, SaleFactory

pytestmark = pytest.mark.django_db

YEAR = 2025  # a fixed working year, so the expectations below do not move with the calendar
CITY_ZIPS = {
    "KENNEWICK": {"99336", "99337", "99338"},
    "RICHLAND": {"99352", "99354"},
    "WEST RICHLAND": {"99353"},
    "BENTON CITY": {"99320"},
    "PROSSER": {"99350"},
}
CHARACTERISTICS = (
    "property_id", "parcel_number", "class_code", "neighborhood__code", "situs_address", "situs_city", "situs_zip",
    "owner_name", "owner_address", "legal_description", "land_area_sqft", "acreage", "living_area", "year_built",
    "effective_year", "bedrooms", "bathrooms", "quality", "condition", "latitude", "longitude", "geometry",
    "land_value", "improvement_value", "market_value", "assessed_value", "last_sale_date", "last_sale_price",
)  # fmt: skip


def generate(slug: str = "demo", parcels: int = 500, seed: int = 7, **kwargs):
    return demo_county_generate(slug=slug, parcels=parcels, seed=seed, working_year=YEAR, **kwargs)


def snapshot(county: County) -> tuple[list, list, list]:
    """Everything generated, in a stable order and without database ids or timestamps."""
    properties = [
        tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
        for row in Property.objects.filter(county=county).order_by("property_id").values_list(*CHARACTERISTICS)
    ]
    values = list(
        PropertyValue.objects.filter(county=county)
        .order_by("property__property_id", "roll_year")
        .values_list(
            "property__property_id", "roll_year", "source", "is_certified", "land_value", "improvement_value",
            "market_value", "assessed_value",
        )
    )  # fmt: skip
    sales = list(
        Sale.objects.filter(county=county)
        .order_by("sale_id")
        .values_list(
            "sale_id", "property__property_id", "sale_date", "sale_price", "adjusted_price", "deed_type",
            "validity_code", "is_valid", "excise_number", "is_multi_parcel",
        )
    )  # fmt: skip
    return properties, values, sales


def test_county_has_its_settings_model_and_six_role_groups():
    summary = generate(name="Demo County")
    county = County.objects.get(slug="demo")
    assert (county.name, county.state, county.timezone) == ("Demo County", "WA", "America/Los_Angeles")
    assert county.fips_code == "53999" and summary.fips_code == "53999"
    assert (county.working_roll_year, county.certified_roll_year) == (YEAR, YEAR - 1)
    assert county.settings["valid_sale_codes"] == ["00"]
    model = county.settings["demo_model"]
    assert model["b_area"] == 0.55 and model["sigma"] == 0.12 and model["trend_per_month"] == 0.004
    assert set(model["neighborhood"]) == set(Neighborhood.objects.filter(county=county).values_list("code", flat=True))
    for role, codenames in ROLES.items():
        group = Group.objects.get(name=group_name("demo", role))
        granted = set(
            CountyGroupObjectPermission.objects.filter(group=group, content_object=county).values_list(
                "permission__codename", flat=True
            )
        )
        assert granted == set(codenames), role


def test_same_seed_gives_the_same_county_and_another_seed_does_not():
    generate(slug="demo-a", parcels=300, seed=11)
    generate(slug="demo-b", parcels=300, seed=11)
    generate(slug="demo-c", parcels=300, seed=12)
    a, b, c = (snapshot(County.objects.get(slug=slug)) for slug in ("demo-a", "demo-b", "demo-c"))
    assert len(a[0]) == 300 and len(a[1]) == 600 and len(a[2]) > 50
    assert a == b
    assert a[0] != c[0] and a[2] != c[2]
    # Distinct demo counties get distinct made-up FIPS codes.
    assert len(set(County.objects.values_list("fips_code", flat=True))) == 3


def test_counts_and_invariants():
    summary = generate(parcels=500)
    county = County.objects.get(slug="demo")
    props = Property.objects.filter(county=county)
    assert summary.parcels == props.count() == 500
    assert summary.neighborhoods == Neighborhood.objects.filter(county=county).count() == 5
    assert summary.value_rows == PropertyValue.objects.filter(county=county).count() == 1000
    assert summary.sales == Sale.objects.filter(county=county).count()
    assert summary.sales == summary.valid_sales + summary.invalid_sales

    rows = list(props.values())
    assert len({r["property_id"] for r in rows}) == 500
    assert len({r["parcel_number"] for r in rows}) == 500
    assert all(r["neighborhood_id"] is not None for r in rows)
    for r in rows:
        assert r["property_type"] == "R" and r["class_code"] in {"11", "12", "13", "51", "91"}
        assert r["situs_zip"] in CITY_ZIPS[r["situs_city"]]
        assert r["legal_description"].startswith("LOT ") and " BLOCK " in r["legal_description"]
        assert r["market_value"] == r["land_value"] + r["improvement_value"] == r["assessed_value"]
        assert min(r["land_value"], r["improvement_value"]) >= 0 and r["value_year"] == YEAR
        assert abs(float(r["acreage"]) - float(r["land_area_sqft"]) / 43560) < 1e-4
        if r["class_code"] == "91":  # vacant land: no building
            assert r["living_area"] is None and r["improvement_value"] == 0 and r["quality"] == ""
        else:
            assert 500 <= r["living_area"] <= 6000
            assert 1900 <= r["year_built"] <= r["effective_year"] < YEAR
            assert r["bathrooms"] * 2 == int(r["bathrooms"] * 2) and 1 <= r["bathrooms"] <= 4.5
            assert r["quality"] and r["condition"]
    land = np.array([float(r["land_area_sqft"]) for r in rows])
    assert 5000 <= np.median(land) <= 12000 and land.max() > 30000  # town lots, and some acreage

    values = list(PropertyValue.objects.filter(county=county).values())
    assert all(v["market_value"] == v["land_value"] + v["improvement_value"] == v["assessed_value"] for v in values)
    assert all(min(v["land_value"], v["improvement_value"]) >= 0 and v["source"] == "pacs" for v in values)
    assert {(v["roll_year"], v["is_certified"]) for v in values} == {(YEAR - 1, True), (YEAR, False)}
    working = {v["property_id"]: v for v in values if v["roll_year"] == YEAR}
    assert all(working[r["id"]]["market_value"] == r["market_value"] for r in rows)


def test_geometry_is_valid_non_overlapping_and_matches_its_columns():
    generate(parcels=500)
    rows = list(
        Property.objects.filter(county__slug="demo").values_list(
            "geometry", "bbox_xmin", "bbox_ymin", "bbox_xmax", "bbox_ymax", "longitude", "latitude"
        )
    )
    polygons = shapely.from_wkb([bytes(r[0]) for r in rows])
    assert (shapely.get_type_id(polygons) == shapely.GeometryType.POLYGON).all()
    assert shapely.is_valid(polygons).all()
    np.testing.assert_allclose(shapely.bounds(polygons), np.array([r[1:5] for r in rows]), rtol=0, atol=1e-12)
    for wkb, *columns in rows[:50]:
        expected = geometry_columns(bytes(wkb))
        assert columns == [expected[k] for k in ("bbox_xmin", "bbox_ymin", "bbox_xmax", "bbox_ymax")] + [
            expected["longitude"],
            expected["latitude"],
        ]
    xmin, ymin, xmax, ymax = shapely.total_bounds(polygons)
    assert -119.6 < xmin < xmax < -119.0 and 46.0 < ymin < ymax < 46.5  # Kennewick / Richland
    # Neighbouring lots share edges but never overlap: every intersecting pair meets in a line or point.
    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    pairs = left < right
    assert pairs.sum() > 500  # lots do touch their neighbours
    shared = shapely.area(shapely.intersection(polygons[left[pairs]], polygons[right[pairs]]))
    assert shared.max() < 1e-6 * shapely.area(polygons).min()


def test_sales_validity_and_last_sale():
    summary = generate(parcels=2000, seed=3)
    county = County.objects.get(slug="demo")
    sales = list(Sale.objects.filter(county=county).values())
    assert len({s["sale_id"] for s in sales}) == len(sales)
    assert len({s["excise_number"] for s in sales}) == len(sales)
    invalid_share = summary.invalid_sales / summary.sales
    designed = sum(k.share for k in SALE_KINDS if not k.valid)
    assert abs(invalid_share - designed) < 0.04, invalid_share
    kinds = {k.code: k for k in SALE_KINDS}
    for s in sales:
        kind = kinds[s["validity_code"]]
        assert s["is_valid"] is kind.valid and s["is_multi_parcel"] is kind.multi_parcel
        assert s["deed_type"] in kind.deeds and s["sale_price"] > 0
        assert datetime.date(YEAR - 5, 1, 1) <= s["sale_date"] <= datetime.date(YEAR - 1, 12, 31)
    per_year = np.bincount([s["sale_date"].year - (YEAR - 5) for s in sales], minlength=5)
    assert ((per_year >= 0.07 * 2000) & (per_year <= 0.13 * 2000)).all(), per_year
    per_property = np.bincount([s["property_id"] for s in sales])
    assert per_property.max() >= 2  # some parcels sell twice

    # A house sells only once built; the property's last-sale fields are its latest sale.
    built = dict(Property.objects.filter(county=county).values_list("id", "year_built"))
    assert all(built[s["property_id"]] is None or built[s["property_id"]] <= s["sale_date"].year for s in sales)
    latest = {}
    for s in sorted(sales, key=lambda s: (s["sale_date"], s["sale_id"])):
        latest[s["property_id"]] = s
    for pk, last_date, last_price in Property.objects.filter(county=county).values_list(
        "id", "last_sale_date", "last_sale_price"
    ):
        if pk in latest:
            assert (last_date, last_price) == (latest[pk]["sale_date"], latest[pk]["sale_price"])
        else:
            assert last_date is None and last_price is None

    # Invalid sales are off the market price: family transfers well under, multi-parcel deals well over.
    def median_ratio(code: str) -> float:
        market = dict(Property.objects.filter(county=county).values_list("id", "market_value"))
        return float(
            np.median([s["sale_price"] / market[s["property_id"]] for s in sales if s["validity_code"] == code])
        )

    assert median_ratio("13") < 0.7 * median_ratio("00") and median_ratio("25") > 1.3 * median_ratio("00")


def test_valid_sales_recover_the_stored_model_and_values_study_like_a_real_roll():
    generate(parcels=3000, seed=5)
    county = County.objects.get(slug="demo")
    model = county.settings["demo_model"]
    rows = list(
        Sale.objects.filter(county=county, is_valid=True)
        .exclude(property__class_code="91")
        .values_list(
            "sale_price", "sale_date", "property__living_area", "property__effective_year", "property__quality",
            "property__condition", "property__land_area_sqft", "property__class_code", "property__neighborhood__code",
        )
    )  # fmt: skip
    assert len(rows) > 1000
    base = datetime.date.fromisoformat(model["trend_base_date"])

    def dummies(values, levels):
        return [[float(v == level) for level in levels[1:]] for v in values]

    price, date, area, eff, quality, condition, land, klass, nbhd = zip(*rows, strict=True)
    x = np.column_stack(
        [
            np.ones(len(rows)),
            np.log(area),
            [max(0, d.year - e) for d, e in zip(date, eff, strict=True)],
            np.log(np.array(land, dtype=float)),
            [(d - base).days / 30.4375 for d in date],
            dummies(quality, ["average", "low", "fair", "good", "very_good", "excellent"]),
            dummies(condition, ["average", "poor", "fair", "good", "excellent"]),
            dummies(klass, ["11", "12", "13", "51"]),
            dummies(nbhd, sorted(model["neighborhood"])),
        ]
    )
    y = np.log(np.array(price, dtype=float))
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual_sd = float(np.std(y - x @ coef, ddof=x.shape[1]))
    assert abs(coef[1] - model["b_area"]) < 0.05, coef[1]
    assert abs(coef[2] - model["b_age"]) < 0.002, coef[2]
    assert abs(coef[4] - model["trend_per_month"]) < 0.001, coef[4]
    assert abs(coef[5 + 2] - model["b_quality"]["good"]) < 0.05  # good vs average
    assert 0.10 < residual_sd < 0.14  # the stored sigma (0.12), plus price rounding

    # A ratio study of the working roll against last year's valid sales looks like a real assessor's.
    market = dict(Property.objects.filter(county=county).values_list("id", "market_value"))
    sales = Sale.objects.filter(county=county, is_valid=True, sale_date__year=YEAR - 1)
    ratios = np.array([market[pk] / p for pk, p in sales.values_list("property_id", "sale_price")])
    level = np.median(ratios)
    cod = 100 * np.mean(np.abs(ratios - level)) / level
    assert 0.88 <= level <= 1.02, level
    assert 7 <= cod <= 16, cod


def test_replace_deletes_the_old_county_and_an_existing_slug_is_an_error():
    generate(parcels=300)
    old = County.objects.get(slug="demo")
    ReportJob.objects.create(county=old)  # jobs PROTECT their county: replacing must remove them
    other = generate(slug="other", parcels=200)

    with pytest.raises(DemoCountyError, match="county 'demo' exists; use --replace"):
        generate(parcels=100)
    assert Property.objects.filter(county=old).count() == 300  # nothing half-made

    summary = generate(parcels=100, seed=8, replace=True)
    new = County.objects.get(slug="demo")
    assert summary.replaced and new.pk != old.pk
    assert not County.objects.filter(pk=old.pk).exists() and not ReportJob.objects.filter(county_id=old.pk).exists()
    assert Property.objects.filter(county=new).count() == 100
    assert Property.objects.count() == 100 + 200  # the other county is untouched
    assert PropertyValue.objects.count() == 2 * (100 + 200)
    assert Sale.objects.exclude(county_id__in=[new.pk, other.county_id]).count() == 0
    assert Group.objects.filter(name__startswith="demo:").count() == len(ROLES)


def test_command_prints_a_summary_and_refuses_an_existing_slug():
    out = StringIO()
    call_command(
        "generate_demo_county", "--slug", "demo", "--parcels", "200", "--seed", "3", "--fips", "53990", stdout=out
    )
    text = out.getvalue()
    assert "Created county 'demo' (FIPS 53990" in text
    assert "parcels               200" in text and "value rows            400" in text
    sales = Sale.objects.filter(county__slug="demo")
    assert f"({sales.filter(is_valid=True).count()} valid, {sales.filter(is_valid=False).count()} invalid)" in text

    with pytest.raises(CommandError, match="county 'demo' exists; use --replace"):
        call_command("generate_demo_county", "--slug", "demo", "--parcels", "200", stdout=StringIO())
    with pytest.raises(CommandError, match="FIPS code 53990 belongs to another county"):
        call_command("generate_demo_county", "--slug", "demo2", "--parcels", "10", "--fips", "53990", stdout=StringIO())
    with pytest.raises(CommandError, match="parcels must be between"):
        call_command("generate_demo_county", "--slug", "demo3", "--parcels", "0", stdout=StringIO())

    out = StringIO()
    call_command("generate_demo_county", "--slug", "demo", "--parcels", "50", "--replace", stdout=out)
    assert "Replaced county 'demo'" in out.getvalue()
    assert Property.objects.filter(county__slug="demo").count() == 50


def test_generation_without_the_database_is_deterministic_and_tiny_counties_work():
    a = demo_data_generate(parcels=120, seed=1, working_year=YEAR)
    b = demo_data_generate(parcels=120, seed=1, working_year=YEAR)
    assert a.parcel_numbers == b.parcel_numbers and a.owner_names == b.owner_names
    assert shapely.equals_exact(a.polygons, b.polygons, tolerance=0).all()
    assert (a.sales.price == b.sales.price).all()
    tiny = generate(slug="tiny", parcels=1)
    assert tiny.parcels == 1 and tiny.neighborhoods == 1


# --- --replace never deletes a county the generator did not make ---------------------------------------------


def county_state(county: County) -> tuple:
    """What a wrongful replace would change: the county row, its data and its role groups."""
    county.refresh_from_db()
    rows = (
        County.objects.filter(pk=county.pk).values().get(),
        list(Property.objects.filter(county=county).order_by("pk").values()),
        list(PropertyValue.objects.filter(county=county).order_by("pk").values()),
        list(Sale.objects.filter(county=county).order_by("pk").values()),
    )
    groups = sorted(Group.objects.filter(name__startswith=f"{county.slug}:").values_list("name", flat=True))
    return rows, groups


def test_generated_county_is_marked_with_its_own_slug_and_fips():
    generate(slug="demo", fips="53990")
    assert County.objects.get(slug="demo").settings["generated_by"] == {
        "command": "generate_demo_county",
        "slug": "demo",
        "fips_code": "53990",
    }


def test_replace_refuses_a_county_made_by_the_factory_and_leaves_it_intact():
    county = CountyFactory(slug="benton-wa", name="Benton County", fips_code="53005")
    value = PropertyValueFactory(county=county, property__county=county)
    SaleFactory(county=county, property=value.property)
    before = county_state(county)
    assert len(before[0][1]) == len(before[0][2]) == len(before[0][3]) == 1 and len(before[1]) == len(ROLES)

    for extra in (["--replace"], []):  # without --replace, the advice is not "use --replace"
        with pytest.raises(CommandError) as error:
            call_command("generate_demo_county", "--slug", "benton-wa", "--parcels", "20", *extra, stdout=StringIO())
        message = str(error.value)
        assert "county 'benton-wa' (Benton County, FIPS 53005) was not made by generate_demo_county" in message
        assert 'no "generated_by" marker' in message and "1 parcels are left untouched" in message
        assert "use --replace" not in message
    assert county_state(county) == before
    assert County.objects.count() == 1  # nothing half-made beside it


def test_replace_refuses_a_demo_county_that_setup_county_took_over(tmp_path):
    generate(slug="benton-wa", parcels=30)
    # A county configuration for this slug (no users): applying it makes the county a real one.
    config = Path(shutil.copytree(CONFIGS_DIR / "benton-wa", tmp_path / "benton-wa"))
    (config / "users.yaml").write_text("[]\n")
    call_command("setup_county", str(config), stdout=StringIO(), stderr=StringIO())
    county = County.objects.get(slug="benton-wa")
    assert county.fips_code == "53005" and "generated_by" not in county.settings
    before = county_state(county)

    with pytest.raises(DemoCountyError, match=r"was not made by generate_demo_county.*30 parcels are left untouched"):
        generate(slug="benton-wa", parcels=10, replace=True)
    assert county_state(county) == before


def test_replace_refuses_a_county_whose_settings_were_copied_from_a_demo_county():
    generate(slug="demo", parcels=20)
    copied = County.objects.get(slug="demo").settings
    county = CountyFactory(slug="real", name="Real County", fips_code="53005", settings=copied)
    SaleFactory(county=county, property__county=county)
    before = county_state(county)

    with pytest.raises(DemoCountyError, match=r"marker .* does not name this county \(slug 'real', FIPS 53005\)"):
        generate(slug="real", parcels=10, replace=True)
    assert county_state(county) == before
    # A demo county whose marker was removed (an older generator's county, say) is refused too, with a hint.
    demo = County.objects.get(slug="demo")
    demo.settings.pop("generated_by")
    demo.save()
    with pytest.raises(DemoCountyError, match="must be deleted by hand"):
        generate(slug="demo", parcels=10, replace=True)
    assert Property.objects.filter(county=demo).count() == 20


def test_the_models_code_lists_are_the_choices():
    assert tuple(Quality.values) == QUALITY_CODES and tuple(Condition.values) == CONDITION_CODES


def test_the_model_and_the_kernels_run_without_django():
    """properties.demo.model and .kernels import no Django and no other app: loaded alone, they generate a county."""
    script = """
import sys, types
for name in ("properties", "properties.demo"):  # bare packages: skip their __init__ (which loads the writer)
    package = types.ModuleType(name)
    package.__path__ = [name.replace(".", "/")]
    sys.modules[name] = package
from properties.demo.kernels import demo_data_generate
data = demo_data_generate(parcels=50, seed=1, working_year=2025)
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"django", "counties", "terrafusion", "rest_framework"})
print(len(data.parcel_numbers), sorted(m for m in sys.modules if m.startswith("properties")), loaded)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n")[0] == (
        "50 ['properties', 'properties.demo', 'properties.demo.kernels', 'properties.demo.model'] []"
    ), result.stdout + result.stderr
