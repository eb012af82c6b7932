"""Comparable sales on a small hand-made county whose prices follow a known model exactly: the grid finds the
right answer, each adjustment moves the price the right way, and the dollars add up line by line."""

import datetime

import pytest

from terrafusion.testing.factories import CountyFactory
from valuation.tests.known import VALUATION_DATE, completed_job, known_county, true_price

pytestmark = pytest.mark.django_db


@pytest.fixture
def county():
    return CountyFactory(slug="known", working_roll_year=2026, certified_roll_year=2025)


def truth_of(prop, when=VALUATION_DATE) -> float:
    return true_price(living_area=prop.living_area, effective_year=prop.effective_year,
                      land=float(prop.land_area_sqft), quality=prop.quality, when=when)  # fmt: skip


def test_the_grid_of_an_exact_market_gives_the_subjects_true_value(county):
    parcels = known_county(county, noise=0.0)
    subject = parcels[20]
    job = completed_job(county, method="comparable_sales", property=subject.pk)
    grid = job.result["explanation"]

    assert job.result["property"] == subject.pk and grid["method"] == "comparable_sales"
    assert grid["value"] == pytest.approx(truth_of(subject), rel=2e-3)
    assert grid["low"] <= grid["value"] <= grid["high"]  # a point: the exact market has no spread
    assert grid["subject"]["living_area"] == subject.living_area
    lines = grid["comparables"]
    assert len(lines) == 5
    assert subject.pk not in {line["sale"]["property"] for line in lines}  # never its own sale
    assert sum(line["weight"] for line in lines) == pytest.approx(1.0, abs=1e-3)
    for line in lines:
        # Every comparable, adjusted at the rates the county's sales give, is worth what the subject is.
        assert line["adjusted_price"] == pytest.approx(truth_of(subject), rel=2e-3)
        assert line["adjusted_price"] == line["price"] + line["net_adjustment"]
        assert sum(a["amount"] for a in line["adjustments"]) == line["net_adjustment"]
        assert line["distance_miles"] < 1 and line["sale"]["sale_price"] == line["price"]
    weighted = sum(line["weight"] * line["adjusted_price"] for line in lines)
    assert weighted == pytest.approx(grid["value"], rel=1e-3)
    # The stored result is the grid's value.
    assert job.results.get().estimate == grid["value"]


def test_each_adjustment_moves_the_comparables_price_toward_the_subject(county):
    parcels = known_county(county, noise=0.0)
    checked = 0
    for subject in parcels[::9]:
        grid = completed_job(county, method="comparable_sales", property=subject.pk).result["explanation"]
        for line in grid["comparables"]:
            by_name = {a["name"]: a for a in line["adjustments"]}
            sold = datetime.date.fromisoformat(line["sale"]["sale_date"])
            assert by_name["time"]["amount"] > 0 if sold < VALUATION_DATE else by_name["time"]["amount"] <= 0
            area = by_name["living area"]
            assert (area["amount"] > 0) == (area["subject"] > area["comparable"]) or area["amount"] == 0
            age = by_name["age"]  # a younger subject (at the valuation date) is worth more than an older comparable
            assert (age["amount"] > 0) == (age["subject"] < age["comparable"]) or age["amount"] == 0
            land = by_name["land"]
            assert (land["amount"] > 0) == (land["subject"] > land["comparable"]) or land["amount"] == 0
            quality = by_name["quality"]
            if quality["subject"] == quality["comparable"]:
                assert quality["amount"] == 0
            else:
                assert (quality["amount"] > 0) == (quality["subject"] == "good")
            checked += 1
    assert checked == 40


def test_a_mass_appraisal_by_comparables_values_every_parcel_close_to_the_truth(county):
    parcels = known_county(county, noise=0.05, seed=3)
    job = completed_job(county, method="comparable_sales")
    values = dict(job.results.values_list("property_id", "estimate"))
    assert len(values) == len(parcels)
    errors = [values[p.pk] / truth_of(p) - 1 for p in parcels]
    assert max(abs(e) for e in errors) < 0.12  # five comparables' noise of 5% each, averaged
    assert job.result["comparables"]["per_parcel"] == 5
    assert job.result["time_adjustment"]["monthly_trend"] == pytest.approx(0.005, abs=0.001)
