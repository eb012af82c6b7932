"""The hedonic time index kernel on synthetic sales with a known monthly trend. Pure numpy: no database."""

import datetime

import numpy as np
import pytest

from market_analysis.time_index import TimeIndexError, hedonic_time_index, level_at


def synthetic_sales(months: list[str], per_month: int = 80, trend: float = 0.01, seed: int = 0) -> dict:
    """Sales in the given months whose log price rises `trend` a month, plus characteristics and noise."""
    rng = np.random.default_rng(seed)
    dates = np.concatenate([np.datetime64(m, "D") + rng.integers(0, 28, per_month) for m in months])
    n = dates.size
    area = rng.uniform(900, 3000, n)
    land = rng.uniform(4000, 12000, n)
    neighborhood = rng.choice(["A", "B", "C"], n)
    elapsed = (dates - np.datetime64(months[0], "D")).astype(float) / 30.4375
    log_price = (
        8.0 + 0.5 * np.log(area) + 0.1 * np.log(land) + np.where(neighborhood == "B", 0.2, 0.0)
        + trend * elapsed + rng.normal(0, 0.05, n)
    )  # fmt: skip
    return {
        "sale_date": dates,
        "sale_price": np.exp(log_price),
        "living_area": area,
        "effective_year": np.full(n, 2000.0),
        "land_area_sqft": land,
        "neighborhood": neighborhood.astype(object),
        "class_code": np.full(n, "11", dtype=object),
        "quality": np.full(n, "average", dtype=object),
        "condition": np.full(n, "average", dtype=object),
    }


def test_the_index_recovers_the_trend_fills_a_month_without_sales_and_reaches_the_valuation_date():
    months = ["2024-01", "2024-02", "2024-04", "2024-05", "2024-06"]  # no sales in March
    fitted = hedonic_time_index(synthetic_sales(months), valuation_date=datetime.date(2024, 7, 1), trend_months=12)
    assert [str(m) for m in fitted.months] == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    assert fitted.sales.tolist() == [80, 80, 0, 80, 80, 80]
    assert fitted.monthly_trend == pytest.approx(0.01, abs=0.002)
    assert fitted.recent_trend == pytest.approx(0.01, abs=0.002)
    march = np.log(fitted.index[2])
    assert march == pytest.approx((np.log(fitted.index[1]) + np.log(fitted.index[3])) / 2)
    # The level at the valuation date is 1: July 1 is about half a month after mid-June.
    assert fitted.index[-1] == pytest.approx(np.exp(-0.01 * 16 / 30.4375), abs=0.01)
    after = level_at(fitted.months, fitted.index, fitted.recent_trend, datetime.date(2024, 7, 1),
                     np.array(["2024-07-01", "2024-09-01"], dtype="datetime64[D]"))  # fmt: skip
    assert after[0] == pytest.approx(1.0) and after[1] == pytest.approx(np.exp(fitted.recent_trend * 62 / 30.4375))
    assert fitted.r_squared > 0.9


def test_an_index_needs_two_months_and_a_recent_trend():
    with pytest.raises(TimeIndexError, match="at least two months; they are all in 2024-01"):
        hedonic_time_index(synthetic_sales(["2024-01"]), valuation_date=datetime.date(2024, 7, 1), trend_months=12)
    with pytest.raises(TimeIndexError, match="The last 3 months with sales are a single month"):
        hedonic_time_index(
            synthetic_sales(["2023-01", "2024-06"]), valuation_date=datetime.date(2024, 7, 1), trend_months=3
        )
