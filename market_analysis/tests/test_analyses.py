"""The analyses on the demo county, whose price and assessment model is known (its settings store it), and on
small hand-made counties for Washington's rules."""

import datetime
import json
import math

import numpy as np
import pytest

from counties.models import County
from market_analysis import services
from market_analysis.admin import FIGURES
from market_analysis.api.serializers import MarketAnalysisParametersSerializer
from market_analysis.models import MarketAnalysisJob, TimeIndex, TimeIndexMonth
from market_analysis.selectors import valid_sales
from market_analysis.services import AnalysisError
from properties.demo import demo_county_delete, demo_county_generate
from properties.demo.model import stored_model_log_price
from terrafusion.testing.factories import (
    CountyFactory,
    NeighborhoodFactory,
    PropertyFactory,
    PropertyValueFactory,
    SaleFactory,
)

WORKING_YEAR = 2026
SEED = 11


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """One demo county of 8,000 parcels for the module's tests (each runs in its own rolled-back transaction)."""
    with django_db_blocker.unblock():
        demo_county_generate(slug="ma-demo", parcels=8000, seed=SEED, working_year=WORKING_YEAR)
        county = County.objects.get(slug="ma-demo")
    yield county
    with django_db_blocker.unblock():
        demo_county_delete(county=County.objects.get(slug="ma-demo"))


def parameters(county: County, **given) -> dict:
    """Parameters as the API validates them, with the runner's default roll year."""
    serializer = MarketAnalysisParametersSerializer(data=given)
    serializer.is_valid(raise_exception=True)
    cleaned = dict(serializer.validated_data)
    cleaned.setdefault("roll_year", county.working_roll_year)
    return cleaned


def true_log_price(county: County, sales, when: datetime.date) -> np.ndarray:
    """The demo model's expected log price of each sold parcel at `when`, computed from the county's settings."""
    return stored_model_log_price(county.settings["demo_model"], sales, np.datetime64(when))


# -- time adjustment ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_time_index_recovers_the_demo_countys_monthly_trend(demo):
    job = MarketAnalysisJob.objects.create(county=demo)
    summary, files = services.time_index_build(
        county=demo, job=job, parameters=parameters(demo, analysis="time_adjustment")
    )
    truth = demo.settings["demo_model"]["trend_per_month"]  # 0.004 a month, about 5% a year
    assert summary["monthly_trend"] == pytest.approx(truth, abs=0.0004)
    # Month by month: the index follows exp(truth x months to the valuation date) within sampling noise.
    months = np.array([m["month"] for m in summary["months"]], dtype="datetime64[M]")
    mid = months.astype("datetime64[D]") + 14
    expected = np.exp(-truth * (np.datetime64(f"{WORKING_YEAR}-01-01") - mid).astype(float) / 30.4375)
    index = np.array([m["index"] for m in summary["months"]])
    assert np.max(np.abs(np.log(index / expected))) < 0.06
    assert np.sqrt(np.mean(np.log(index / expected) ** 2)) < 0.025
    assert len(months) == 60 and summary["sales_used"] > 3000 and summary["r_squared"] > 0.8

    stored = TimeIndex.objects.get(job=job)
    assert (stored.county, stored.valuation_date, stored.months.count()) == (demo, datetime.date(2026, 1, 1), 60)
    first = stored.months.order_by("month").first()
    assert first.factor == pytest.approx(1 / first.index) and first.factor > 1.2  # 2021 prices brought to 2026
    # Factors to the valuation date itself are 1; a sale of the first month gets that month's factor.
    dates = np.array(["2026-01-01", str(first.month)], dtype="datetime64[D]")
    factors = services.time_factors(stored, dates, datetime.date(2026, 1, 1))
    assert factors == pytest.approx([1.0, first.factor], rel=1e-3)
    assert [f.name for f in files] == ["time-index.csv", "time-index.png"]
    assert files[0].content.decode().splitlines()[0] == "month,index,factor,sales"
    assert "a month on average" in FIGURES["time_adjustment"](summary)  # the admin's table
    json.dumps(summary)


@pytest.mark.django_db
def test_time_factors_before_between_and_after_the_months_with_sales(county):
    """An index of three months, the middle one without sales: it is interpolated; before the first month the
    first's level holds; after the last the recent trend runs on to the valuation date (level 1)."""
    job = MarketAnalysisJob.objects.create(county=county)
    index = TimeIndex.objects.create(
        county=county, job=job, method="hedonic", valuation_date=datetime.date(2025, 1, 1),
        first_month=datetime.date(2024, 8, 1), last_month=datetime.date(2024, 10, 1), sales_used=100,
        monthly_trend=0.01, recent_trend=0.01,
    )  # fmt: skip
    fitted = hedonic_time_index_rows(index, {"2024-08": 0.9, "2024-09": None, "2024-10": 0.95})
    assert fitted["2024-09"] == pytest.approx(math.sqrt(0.9 * 0.95))  # log-linear between its neighbours
    target = datetime.date(2025, 1, 1)
    dates = np.array(["2024-06-15", "2024-09-10", "2024-12-15", "2025-01-01"], dtype="datetime64[D]")
    factors = services.time_factors(index, dates, target)
    december = math.exp(-0.01 * (datetime.date(2025, 1, 1) - datetime.date(2024, 12, 15)).days / 30.4375)
    assert factors == pytest.approx([1 / 0.9, 1 / fitted["2024-09"], 1 / december, 1.0])
    # To another date: the ratio of the two levels.
    assert services.time_factors(index, dates[:1], datetime.date(2024, 10, 20))[0] == pytest.approx(0.95 / 0.9)


def hedonic_time_index_rows(index: TimeIndex, levels: dict) -> dict:
    """Store months with the levels given, a missing one interpolated as the service does; return them all."""
    months = np.array(list(levels), dtype="datetime64[M]")
    known = np.array([level is not None for level in levels.values()])
    position = (months - months[0]).astype(int)
    logs = np.interp(position, position[known], np.log([v for v in levels.values() if v is not None]))
    for month, log in zip(months, logs, strict=True):
        level = math.exp(log)
        TimeIndexMonth.objects.create(
            county=index.county, time_index=index, month=month.astype(datetime.date), index=level,
            factor=1 / level, sales=0,
        )  # fmt: skip
    return {str(month): math.exp(log) for month, log in zip(months, logs, strict=True)}


@pytest.mark.django_db
def test_a_time_index_needs_enough_sales(county):
    job = MarketAnalysisJob.objects.create(county=county)
    with pytest.raises(AnalysisError, match="needs at least 100 valid sales with a land area; Benton has 0"):
        services.time_index_build(county=county, job=job, parameters=parameters(county, analysis="time_adjustment"))


# -- ratio study on the demo county ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_stratified_ratio_study_finds_the_demo_countys_known_assessment(demo):
    job = MarketAnalysisJob.objects.create(county=demo)
    services.time_index_build(county=demo, job=job, parameters=parameters(demo, analysis="time_adjustment"))
    summary, files = services.ratio_study(
        county=demo, parameters=parameters(demo, stratify_by="neighborhood", time_adjust=True, seed=1, resamples=500)
    )
    model = demo.settings["demo_model"]["assessment"]
    overall = summary["overall"]
    # The true ratio of each sold parcel: its 2026 value over its model price on 1 January 2026 (no sale noise).
    sales = valid_sales(
        county=demo, date_from=datetime.date(2025, 1, 1), date_to=datetime.date(2025, 12, 31), roll_year=2026,
        value_source="pacs", characteristics=True,
    )  # fmt: skip
    true_ratio = sales["value"] / np.exp(true_log_price(demo, sales, datetime.date(2026, 1, 1)))
    assert np.median(true_ratio) == pytest.approx(model["level"], abs=0.05)  # the settings' level, 0.94
    assert overall["n"] == len(sales) == summary["sales"]["used"]
    assert overall["median"] == pytest.approx(np.median(true_ratio), abs=0.015)
    assert overall["ci"]["median"][0] < overall["median"] < overall["ci"]["median"][1]
    # Sale noise (sigma 0.12) and the assessment's errors make a COD of about 100 x 0.8 x 0.137 = 11.
    noise = math.hypot(
        demo.settings["demo_model"]["sigma"], model["sd_parcel"], model["sd_year"], model["sd_neighborhood"]
    )
    assert overall["cod"] == pytest.approx(100 * math.sqrt(2 / math.pi) * noise, rel=0.15)
    # The assessment is slightly regressive (regressivity -0.03): PRD above 1 and PRB below 0, both significant.
    assert overall["prd"] > 1 and overall["ci"]["prd"][0] > 1
    assert overall["prb"] < 0 and overall["ci"]["prb"][1] < 0
    assert overall["mki"] < 1 and overall["vei"] < 0

    # Each neighborhood's median is near its true median, and the intervals cover it about as often as they say.
    strata = {s["stratum"]: s for s in summary["strata"]}
    assert set(strata) == set(sales["neighborhood"])
    covered = []
    for code, stratum in strata.items():
        truth = np.median(true_ratio[sales["neighborhood"] == code])
        if stratum["sample_too_small"]:
            assert stratum["n"] < 5 and stratum["median"] is None
            continue
        assert stratum["median"] == pytest.approx(truth, abs=4 * 1.25 * 0.13 / math.sqrt(stratum["n"]) + 0.01)
        covered.append(stratum["ci"]["median"][0] <= truth <= stratum["ci"]["median"][1])
    assert len(covered) >= 8 and np.mean(covered) >= 0.7  # 95% intervals; small biases (time index, noise) aside
    assert summary["sales_chasing"]["flagged"] is False  # the demo assessment does not chase sales
    assert {f.name for f in files} == {
        "sales.csv", "ratio-vs-price.png", "ratio-histogram.png", "vei-groups.png", "strata-medians.png",
    }  # fmt: skip
    assert all(f.content.startswith(b"\x89PNG") for f in files if f.name.endswith(".png"))
    rows = files[0].content.decode().splitlines()
    assert len(rows) == 1 + summary["sales"]["selected"] and rows[0].startswith("sale_id,parcel_number")


@pytest.mark.django_db
def test_stratifying_by_class_judges_each_class_by_its_own_cod_limit(demo):
    summary, _ = services.ratio_study(
        county=demo, parameters=parameters(demo, stratify_by="property_class", resamples=0)
    )
    limits = {s["stratum"]: s["standards"]["limits"]["cod_max"] for s in summary["strata"] if s["standards"]}
    assert limits["11"] == 15.0 and limits.get("91", 25.0) == 25.0 and limits.get("51", 20.0) == 20.0
    assert summary["overall"]["ci"]["median"] is None  # no resamples, no bootstrap intervals
    assert summary["overall"]["ci"]["median_rank"] is not None


@pytest.mark.django_db
def test_a_study_of_a_roll_year_without_values_says_so(demo):
    with pytest.raises(AnalysisError, match="none with a manual value for 2026"):
        services.ratio_study(county=demo, parameters=parameters(demo, value_source="manual"))


@pytest.mark.django_db
def test_time_adjustment_needs_a_time_index(demo):
    with pytest.raises(AnalysisError, match="has no time index yet: run a time_adjustment analysis first"):
        services.ratio_study(county=demo, parameters=parameters(demo, time_adjust=True))


@pytest.mark.django_db
def test_price_trends_and_the_neighborhood_summary_on_the_demo_county(demo):
    summary, files = services.price_trends(
        county=demo, parameters=parameters(demo, analysis="price_trends", period="quarter", stratify_by="none")
    )
    quarters = summary["county_trend"]
    assert len(quarters) == 20 and quarters[0]["period"] == "2021-Q1" and quarters[-1]["period"] == "2025-Q4"
    assert sum(q["sales"] for q in quarters) == summary["sales"]
    # The market rises about 5% a year: the median year-on-year change says so.
    changes = [q["yoy_change"] for q in quarters if q["yoy_change"] is not None]
    assert len(changes) == 16 and np.median(changes) == pytest.approx(math.expm1(12 * 0.004), abs=0.03)
    assert all(q["median_price_per_sqft"] > 0 for q in quarters)

    assert "<td>2025-Q4</td>" in FIGURES["price_trends"](summary)  # the admin's table
    summary, files = services.neighborhood_summary(
        county=demo, parameters=parameters(demo, analysis="neighborhood_summary")
    )
    rows = summary["neighborhoods"]
    assert summary["totals"]["parcels"] == 8000 == sum(r["parcels"] for r in rows)
    assert summary["totals"]["sales"] == len(
        valid_sales(county=demo, date_from=datetime.date(2025, 1, 1), date_to=datetime.date(2025, 12, 31))
    )
    with_ratio = [r for r in rows if r["ratio"]]
    assert with_ratio and all(0.8 < r["ratio"]["median"] < 1.15 for r in with_ratio)
    assert [f.name for f in files] == ["neighborhoods.csv", "neighborhood-medians.png"]
    assert f"<td>{rows[0]['neighborhood']}</td>" in FIGURES["neighborhood_summary"](summary)  # the admin's table


# -- Washington's rules --------------------------------------------------------------------------------------------


def washington_county(ratios: list[float], *, sale_date: datetime.date = datetime.date(2025, 6, 15)) -> County:
    """A county with Benton's ratio-study settings and one sale per ratio (value 100,000 x ratio / 0.99)."""
    county = CountyFactory(slug="wa-rules", working_roll_year=2026, certified_roll_year=2025)
    county.settings["ratio_study"] = {
        "min_ratio": 0.25, "max_ratio": 1.75, "min_sales": 5, "sale_price_deduction": 0.01,
        "max_excluded_share": 0.05, "study_period_start": "05-01",
    }  # fmt: skip
    county.save()
    neighborhood = NeighborhoodFactory(county=county, code="N1")
    for i, ratio in enumerate(ratios):
        parcel = PropertyFactory(county=county, neighborhood=neighborhood)
        PropertyValueFactory(
            county=county, property=parcel, roll_year=2026, source="pacs", market_value=round(99_000 * ratio)
        )
        SaleFactory(county=county, property=parcel, sale_date=sale_date, sale_price=100_000, sale_id=1000 + i)
    return county


@pytest.mark.django_db
def test_washington_rules_deduct_one_percent_and_exclude_ratios_outside_the_limits():
    county = washington_county([0.2, *[1.0] * 38, 1.8])  # 1 of 40 under, 1 over: 2.5% each
    summary, _ = services.ratio_study(county=county, parameters=parameters(county, washington_rules=True))
    assert summary["washington_rules"] == {
        "sale_price_deduction": 0.01, "study_period_start": "05-01", "max_excluded_share": 0.05,
    }  # fmt: skip
    assert summary["ratio_limits"] == {
        "limits": [0.25, 1.75], "max_excluded_share": 0.05,
        "below": {"sales": 1, "share": 0.025, "excluded": True},
        "above": {"sales": 1, "share": 0.025, "excluded": True},
    }  # fmt: skip
    assert summary["overall"]["median"] == pytest.approx(1.0)  # 99,000 / (100,000 - 1%)
    assert summary["sales"] == {"selected": 40, "used": 38, "excluded": 2, "trimmed": 0}
    reasons = sorted(s["reason"] for s in summary["set_aside"])
    assert reasons == [
        "ratio 0.200 under the limit 0.25 (WAC 458-53-070)", "ratio 1.800 over the limit 1.75 (WAC 458-53-070)",
    ]  # fmt: skip
    assert summary["sale_dates"] == ["2025-05-01", "2026-04-30"]  # May 1 to April 30
    json.dumps(summary)  # stored as JSON: no numpy scalar anywhere


@pytest.mark.django_db
def test_washington_rules_judge_each_limit_on_its_own_share():
    county = washington_county([0.2, 0.2, 0.2, 1.8, 1.8, *[1.0] * 35])  # 7.5% under, 5% over
    summary, _ = services.ratio_study(county=county, parameters=parameters(county, washington_rules=True))
    limits = summary["ratio_limits"]
    assert limits["below"] == {"sales": 3, "share": 0.075, "excluded": False}  # more than 5%: they all stay in
    assert limits["above"] == {"sales": 2, "share": 0.05, "excluded": True}
    assert summary["sales"]["used"] == 38
    assert {s["ratio"] for s in summary["set_aside"]} == {1.8}


@pytest.mark.django_db
def test_without_washington_rules_the_countys_limits_always_apply_and_no_deduction():
    county = washington_county([0.2, 0.2, 0.2, *[1.0] * 37])
    summary, _ = services.ratio_study(county=county, parameters=parameters(county))
    assert summary["washington_rules"] is None
    assert summary["ratio_limits"]["below"] == {"sales": 3, "share": 0.075, "excluded": True}
    assert summary["overall"]["median"] == pytest.approx(0.99)  # no 1% deduction
    assert summary["set_aside"][0]["reason"] == "ratio 0.198 under the limit 0.25 (the county's ratio limits)"


@pytest.mark.django_db
def test_washington_study_period_runs_from_may_to_april():
    county = washington_county([1.0] * 5, sale_date=datetime.date(2025, 5, 1))
    SaleFactory(county=county, property=county.sales.first().property, sale_date=datetime.date(2025, 4, 30),
                sale_price=100_000, sale_id=1)  # fmt: skip
    SaleFactory(county=county, property=county.sales.first().property, sale_date=datetime.date(2026, 5, 1),
                sale_price=100_000, sale_id=2)  # fmt: skip
    summary, _ = services.ratio_study(county=county, parameters=parameters(county, washington_rules=True))
    assert summary["sales"]["selected"] == 5  # April 30, 2025 and May 1, 2026 are outside
    plain, _ = services.ratio_study(county=county, parameters=parameters(county))
    assert plain["sale_dates"] == ["2025-01-01", "2025-12-31"] and plain["sales"]["selected"] == 6  # + April 30
    one_date, _ = services.ratio_study(county=county, parameters=parameters(county, sale_date_from="2025-04-30"))
    assert one_date["sale_dates"] == ["2025-04-30", "2026-04-29"]  # one date given: the twelve months from it


@pytest.mark.django_db
def test_iqr_trimming_lists_each_trimmed_sale_with_its_reason():
    county = washington_county([*np.linspace(0.9, 1.1, 30), 1.6])  # 1.6: inside the county's limits, an outlier
    summary, files = services.ratio_study(county=county, parameters=parameters(county, trimming="iqr"))
    assert summary["trimming"]["trimmed"] == 1 and summary["trimming"]["multiplier"] == 3.0
    assert summary["sales"]["used"] == 30
    (trimmed,) = summary["set_aside"]
    assert trimmed["status"] == "trimmed" and trimmed["ratio"] == pytest.approx(1.6 * 0.99, abs=1e-3)
    assert trimmed["reason"].startswith("ratio 1.584 above the upper fence")
    assert ",trimmed,ratio 1.584 above the upper fence" in files[0].content.decode()
    county.settings["ratio_study"]["iqr_multiplier"] = 10.0  # the county's own multiplier, when none is asked
    county.save()
    summary, _ = services.ratio_study(county=county, parameters=parameters(county, trimming="iqr"))
    assert summary["trimming"]["multiplier"] == 10.0 and summary["trimming"]["trimmed"] == 0
