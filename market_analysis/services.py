"""Market analyses: each reads a county's sales and values (selectors), computes with `stats`, and returns the
result summary (JSON) and its files (CSV, PNG charts). The job runners call these; nothing here knows RQ.

- `ratio_study`: IAAO statistics for the county and each stratum, with intervals, pass/fail and trimming;
  optionally time-adjusted prices and Washington's rules (WAC 458-53-070).
- `price_trends`: median price and price per square foot by month or quarter and stratum.
- `time_index_build`: the county's monthly market index (hedonic time-dummy regression), stored.
- `neighborhood_summary`: parcels, values, sales and ratios by neighborhood.
"""

import csv
import datetime
import io
import itertools
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from django.db import transaction

from counties.config import WASHINGTON_RATIO_STUDY
from counties.models import County
from market_analysis import stats
from market_analysis.choices import Analysis, Period, Stratification, TimeIndexMethod, Trimming
from market_analysis.models import MarketAnalysisJob, TimeIndex, TimeIndexMonth
from market_analysis.selectors import (
    SalesColumns,
    neighborhood_value_totals,
    parcel_values,
    time_index_current,
    valid_sales,
)
from market_analysis.time_index import TimeFactors, TimeIndexError, hedonic_time_index

DEFAULT_VALUE_BANDS = [200_000, 300_000, 400_000, 500_000, 750_000]
DEFAULT_IQR_MULTIPLIER = 3.0
# IAAO Standard on Ratio Studies, Table 9.1: COD limits by property group, keyed by Washington DOR land-use code
# (Benton's and the demo's class codes): single-family 15, small multi-family 15, income-producing 20, vacant
# land 25. A class not listed is judged as residential (15).
COD_LIMITS_BY_CLASS = {"11": 15.0, "12": 15.0, "13": 20.0, "51": 20.0, "91": 25.0}


def _charts():
    """The charts module, imported when a chart is drawn: matplotlib costs every process that imports it half a
    second, and only market-analysis jobs draw (the web, other workers and commands import this module too)."""
    from market_analysis import charts

    return charts


class AnalysisError(ValueError):
    """The analysis cannot run on this county's data as asked; the message says why and what to do."""


@dataclass(frozen=True)
class ResultFile:
    name: str
    content: bytes
    title: str


Result = tuple[dict, list[ResultFile]]


# -- dates ----------------------------------------------------------------------------------------------------------


def _month_day(text: str, year: int) -> datetime.date:
    month, day = (int(part) for part in text.split("-"))
    if (month, day) == (2, 29) and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        day = 28
    return datetime.date(year, month, day)


def _date(value) -> datetime.date | None:
    """A date parameter (stored as ISO text in the job's parameters)."""
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def valuation_date(county: County, roll_year: int) -> datetime.date:
    """The date a roll year's values are as of (the county's `assessment_date`, default 1 January)."""
    return _month_day(county.settings.get("assessment_date") or "01-01", roll_year)


def study_window(county: County, parameters: Mapping) -> tuple[datetime.date, datetime.date]:
    """The sale dates a study uses: as given; else under Washington's rules the twelve months from the
    county's `study_period_start` (May 1) of the year before the roll year; else the twelve months before
    the roll year's valuation date."""
    roll_year = parameters["roll_year"]
    if parameters.get("washington_rules"):
        start = _washington_setting(county, "study_period_start")
        default_from = _month_day(start, roll_year - 1)
    else:
        default_from = _month_day(valuation_date(county, roll_year).strftime("%m-%d"), roll_year - 1)
    given_from, given_to = _date(parameters.get("sale_date_from")), _date(parameters.get("sale_date_to"))
    if given_from and not given_to:  # one date given: the twelve months from it, or to it
        return given_from, _year_after(given_from) - datetime.timedelta(days=1)
    if given_to and not given_from:
        return _year_after(given_to, years=-1) + datetime.timedelta(days=1), given_to
    return given_from or default_from, given_to or _year_after(default_from) - datetime.timedelta(days=1)


def _year_after(day: datetime.date, years: int = 1) -> datetime.date:
    return _month_day(day.strftime("%m-%d"), day.year + years)


def _washington_setting(county: County, name: str):
    """A Washington rule from the county's ratio-study settings, or the state's where they leave it out."""
    value = county.settings["ratio_study"].get(name)
    return WASHINGTON_RATIO_STUDY[name] if value is None else value


def month_of(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[M]")


# -- time index ---------------------------------------------------------------------------------------------------


def time_index_build(*, county: County, job: MarketAnalysisJob, parameters: Mapping) -> Result:
    """Fit the county's monthly market index to its valid sales (`time_index.hedonic_time_index`) and store it
    (a TimeIndex and a row for every month)."""
    roll_year = parameters["roll_year"]
    target = valuation_date(county, roll_year)
    date_to = _date(parameters.get("sale_date_to")) or target - datetime.timedelta(days=1)
    date_from = _date(parameters.get("sale_date_from")) or _month_day("01-01", date_to.year - 4)
    sales = valid_sales(county=county, date_from=date_from, date_to=date_to, characteristics=True)
    usable = (sales["sale_price"] > 0) & np.isfinite(sales["land_area_sqft"]) & (sales["land_area_sqft"] > 0)
    sales = sales.take(usable)
    if len(sales) < parameters["min_sales"]:
        raise AnalysisError(
            f"A time index needs at least {parameters['min_sales']} valid sales with a land area; "
            f"{county.name} has {len(sales)} from {date_from} to {date_to}."
        )
    try:
        fitted = hedonic_time_index(sales.columns, valuation_date=target, trend_months=parameters["trend_months"])
    except TimeIndexError as exc:
        raise AnalysisError(f"{county.name}: {exc}") from None
    with transaction.atomic():
        time_index = TimeIndex.objects.create(
            county=county,
            job=job,
            method=TimeIndexMethod.HEDONIC,
            valuation_date=target,
            first_month=fitted.months[0].astype(datetime.date),
            last_month=fitted.months[-1].astype(datetime.date),
            sales_used=len(sales),
            monthly_trend=fitted.monthly_trend,
            recent_trend=fitted.recent_trend,
            r_squared=fitted.r_squared,
        )
        TimeIndexMonth.objects.bulk_create(
            TimeIndexMonth(
                county=county,
                time_index=time_index,
                month=month.astype(datetime.date),
                index=float(level),
                factor=float(1.0 / level),
                sales=int(count),
            )
            for month, level, count in zip(fitted.months, fitted.index, fitted.sales, strict=True)
        )
    rows = [
        {"month": str(month), "index": round(float(level), 6), "factor": round(float(1 / level), 6), "sales": int(c)}
        for month, level, c in zip(fitted.months, fitted.index, fitted.sales, strict=True)
    ]
    summary = {
        "analysis": Analysis.TIME_ADJUSTMENT,
        "county": county.slug,
        "time_index": time_index.pk,
        "method": TimeIndexMethod.HEDONIC,
        "valuation_date": str(target),
        "sale_dates": [str(date_from), str(date_to)],
        "sales_used": len(sales),
        "r_squared": round(fitted.r_squared, 4),
        "monthly_trend": fitted.monthly_trend,
        "annual_change": math.expm1(12 * fitted.monthly_trend),
        "recent_trend": fitted.recent_trend,
        "regressors": fitted.regressors,
        "months": rows,
    }
    chart = _charts().lines(
        {"market index (1.00 at the valuation date)": ([m.astype(datetime.date) for m in fitted.months], fitted.index)},
        ylabel="price level",
        title=f"{county.name}: monthly market index, {len(sales):,} valid sales",
    )
    return summary, [
        ResultFile("time-index.csv", _csv(rows), "Monthly index and factors (CSV)"),
        ResultFile("time-index.png", chart, "Market index by month"),
    ]


def time_factors_of(time_index: TimeIndex, target: datetime.date) -> TimeFactors:
    """The stored index's factors to `target` (`TimeFactors`: the month's level, the first month's before the
    index, the recent trend after its last month)."""
    months = sorted(time_index.months.all(), key=lambda m: m.month)
    return TimeFactors(
        target=target,
        trend=time_index.recent_trend,
        months=np.array([m.month for m in months], dtype="datetime64[M]"),
        index=np.array([m.index for m in months]),
        index_date=time_index.valuation_date,
        source=f"time index of {time_index.created_at:%Y-%m-%d} (job {time_index.job_id})",
    )


def time_factors(time_index: TimeIndex, dates: np.ndarray, target: datetime.date) -> np.ndarray:
    """Factors that bring prices of `dates` to `target` by the stored index."""
    return time_factors_of(time_index, target)(dates)


# -- strata ---------------------------------------------------------------------------------------------------------


def strata_of(sales: SalesColumns, values: np.ndarray, by: str, bands: list[int]) -> np.ndarray:
    """Each sale's stratum label."""
    if by == Stratification.NEIGHBORHOOD:
        return np.where(sales["neighborhood"] == "", "(none)", sales["neighborhood"]).astype(object)
    if by == Stratification.PROPERTY_CLASS:
        return np.where(sales["class_code"] == "", "(none)", sales["class_code"]).astype(object)
    if by == Stratification.VALUE_BAND:
        edges = np.asarray(bands, dtype=np.float64)
        names = [f"under {edges[0]:,.0f}"]
        names += [f"{low:,.0f} to {high:,.0f}" for low, high in itertools.pairwise(edges)]
        names += [f"{edges[-1]:,.0f} and over"]
        return np.array(names, dtype=object)[np.searchsorted(edges, values, side="right")]
    return np.full(len(sales), "county", dtype=object)


def _modal(values: np.ndarray):
    """The most common of `values`."""
    kinds, counts = np.unique(values, return_counts=True)
    return kinds[np.argmax(counts)]


# -- ratio study ------------------------------------------------------------------------------------------------


def ratio_study(*, county: County, parameters: Mapping, job: MarketAnalysisJob | None = None) -> Result:
    """The ratio study the parameters describe (see the API's parameters); `(summary, files)`."""
    roll_year, source = parameters["roll_year"], parameters["value_source"]
    date_from, date_to = study_window(county, parameters)
    sales = valid_sales(
        county=county, date_from=date_from, date_to=date_to, roll_year=roll_year, value_source=source,
        classes=parameters.get("property_classes") or None,
    )  # fmt: skip
    n = len(sales)
    status = np.full(n, "used", dtype=object)
    reason = np.full(n, "", dtype=object)
    values = sales["value"]
    no_value = ~(np.isfinite(values) & (values > 0))
    status[no_value], reason[no_value] = "excluded", f"no {source} value for {roll_year}"
    prices = sales["sale_price"].copy()
    summary: dict = {
        "analysis": Analysis.RATIO_STUDY,
        "county": county.slug,
        "roll_year": roll_year,
        "value_source": source,
        "sale_dates": [str(date_from), str(date_to)],
        "stratify_by": parameters["stratify_by"],
    }
    time_index = None
    if parameters.get("time_adjust"):
        time_index = time_index_current(county=county)
        if time_index is None:
            raise AnalysisError(f"{county.name} has no time index yet: run a time_adjustment analysis first.")
        prices *= time_factors(time_index, sales["sale_date"], valuation_date(county, roll_year))
    summary["time_adjustment"] = (
        None
        if time_index is None
        else {"time_index": time_index.pk, "job": str(time_index.job_id), "to": str(valuation_date(county, roll_year))}
    )
    washington = bool(parameters.get("washington_rules"))
    summary["ratio_limits"] = _ratio_limits(county, prices, values, status, reason, washington=washington)
    summary["washington_rules"] = (
        {
            "sale_price_deduction": _washington_setting(county, "sale_price_deduction"),
            "study_period_start": _washington_setting(county, "study_period_start"),
            "max_excluded_share": _washington_setting(county, "max_excluded_share"),
        }
        if washington
        else None
    )

    strata = strata_of(sales, values, parameters["stratify_by"], parameters.get("value_bands") or DEFAULT_VALUE_BANDS)
    trimming = _trim(county, parameters, values, prices, strata, status, reason)
    summary["trimming"] = trimming
    used = status == "used"
    if not used.any():
        raise AnalysisError(
            f"No sale is left to study in {county.name}: {n} valid sales from {date_from} to {date_to}, "
            f"none with a {source} value for {roll_year} (after the rules asked for)."
        )
    # IAAO's COD limit depends on the property group: each stratum is judged as its most common class.
    base = stats.Standards(min_sales=county.settings["ratio_study"]["min_sales"])
    classes = sales["class_code"][used]
    standards = {
        label: base.for_group(_modal(classes[strata[used] == label]), COD_LIMITS_BY_CLASS)
        for label in np.unique(strata[used])
    }
    study = stats.stratified_study(
        values[used], prices[used], strata[used], standards=standards,
        overall_standards=base.for_group(_modal(classes), COD_LIMITS_BY_CLASS),
        resamples=parameters["resamples"], confidence=parameters["confidence"],
        seed=parameters.get("seed", secrets.randbits(63)),  # recorded in the result: any study can be rerun
    )  # fmt: skip
    summary["sales"] = {
        "selected": n,
        "used": int(used.sum()),
        "excluded": int((status == "excluded").sum()),
        "trimmed": int((status == "trimmed").sum()),
    }
    summary.update(study)
    summary["sales_chasing"] = (
        stats.sales_chasing(values[used], prices[used]).as_dict() if used.sum() >= stats.VEI_MIN_SALES else None
    )
    summary["set_aside"] = [
        {
            "sale": int(sales["id"][i]),
            "sale_id": sales["sale_id"][i],
            "parcel_number": sales["parcel_number"][i],
            "status": status[i],
            "ratio": None if no_value[i] else round(float(values[i] / prices[i]), 4),
            "reason": reason[i],
        }
        for i in np.flatnonzero(status != "used")
    ]
    files = [ResultFile("sales.csv", _sales_csv(sales, prices, values, strata, status, reason), "Sales (CSV)")]
    files += _ratio_charts(county, values[used], prices[used], study)
    return summary, files


def _ratio_limits(
    county: County, prices: np.ndarray, values: np.ndarray, status: np.ndarray, reason: np.ndarray, *,
    washington: bool,
) -> dict:  # fmt: skip
    """Exclude the sales whose ratio is outside the county's `min_ratio`-`max_ratio` (marking `status` and
    `reason` of the study's working arrays in place).

    Under Washington's rules (WAC 458-53-070), 1% of each price is deducted first (changing `prices`), and
    each limit applies only while the sales beyond it are at most 5% of the study's sales: when more fall
    under 25% (or over 175%), they all stay in, judged side by side as the rule counts "either one of the
    criteria".
    """
    settings = county.settings["ratio_study"]
    low, high = settings["min_ratio"], settings["max_ratio"]
    if washington:
        prices *= 1.0 - _washington_setting(county, "sale_price_deduction")
    candidates = status == "used"
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = values / prices
    total = max(1, int(candidates.sum()))
    max_share = _washington_setting(county, "max_excluded_share") if washington else None
    summary: dict = {"limits": [low, high], "max_excluded_share": max_share}
    for side, beyond, words in (
        ("below", candidates & (ratios < low), f"under the limit {low}"),
        ("above", candidates & (ratios > high), f"over the limit {high}"),
    ):
        share = int(beyond.sum()) / total
        excluded = max_share is None or share <= max_share
        summary[side] = {"sales": int(beyond.sum()), "share": round(share, 4), "excluded": excluded}
        if excluded:
            rule = " (WAC 458-53-070)" if washington else " (the county's ratio limits)"
            for i in np.flatnonzero(beyond):
                status[i], reason[i] = "excluded", f"ratio {ratios[i]:.3f} {words}{rule}"
    return summary


def _trim(county: County, parameters: Mapping, values, prices, strata, status, reason) -> dict:
    """IQR trimming within each stratum (a stratum's outliers are judged against its own ratios); the
    multiplier asked for, else the county's `iqr_multiplier`, else IAAO's 3.0."""
    method = parameters["trimming"]
    summary = {"method": method, "trimmed": 0}
    if method == Trimming.NONE:
        return summary
    multiplier = parameters.get("iqr_multiplier") or county.settings["ratio_study"].get("iqr_multiplier")
    multiplier, cap = multiplier or DEFAULT_IQR_MULTIPLIER, parameters.get("max_trim_share")
    summary.update({"multiplier": multiplier, "max_share": cap, "strata_capped": []})
    for label in np.unique(strata):
        members = np.flatnonzero((strata == label) & (status == "used"))
        if members.size < 4:  # no quartiles to speak of
            continue
        result = stats.iqr_trim(values[members], prices[members], multiplier=multiplier, max_share=cap)
        for local, why in result.reasons.items():
            status[members[local]], reason[members[local]] = "trimmed", why
        summary["trimmed"] += result.trimmed
        if result.capped:
            summary["strata_capped"].append(label)
    return summary


def _sales_csv(sales: SalesColumns, prices, values, strata, status, reason) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([
        "sale_id", "parcel_number", "property_id", "neighborhood", "class_code", "sale_date", "sale_price",
        "study_price", "value", "ratio", "stratum", "status", "reason",
    ])  # fmt: skip
    for i in range(len(sales)):
        valued = np.isfinite(values[i])
        writer.writerow([
            sales["sale_id"][i], sales["parcel_number"][i], int(sales["property_key"][i]), sales["neighborhood"][i],
            sales["class_code"][i], str(sales["sale_date"][i]), int(sales["sale_price"][i]), round(float(prices[i])),
            int(values[i]) if valued else "", round(float(values[i] / prices[i]), 4) if valued else "",
            strata[i], status[i], reason[i],
        ])  # fmt: skip
    return out.getvalue().encode()


def _ratio_charts(county: County, values: np.ndarray, prices: np.ndarray, study: dict) -> list[ResultFile]:
    overall = study["overall"]
    ratios = values / prices
    files = [
        ResultFile(
            "ratio-vs-price.png",
            _charts().ratio_scatter(
                prices, ratios, median=overall["median"], title=f"{county.name}: ratio by sale price"
            ),
            "Ratio against sale price",
        ),
        ResultFile(
            "ratio-histogram.png",
            _charts().ratio_histogram(ratios, median=overall["median"], title=f"{county.name}: ratios"),
            "Ratio histogram",
        ),
    ]
    if overall.get("vei_groups"):
        chart = _charts().vei_groups(
            overall["vei_groups"], sample_median=overall["median"], title=f"{county.name}: VEI value groups"
        )
        files.append(ResultFile("vei-groups.png", chart, "VEI group medians with 90% intervals"))
    strata = [s for s in study["strata"] if s.get("median") is not None]
    if len(strata) > 1:
        chart = _charts().bars(
            [s["stratum"] for s in strata], [s["median"] for s in strata], reference=1.0,
            ylabel="median ratio", title=f"{county.name}: median ratio by stratum",
        )  # fmt: skip
        files.append(ResultFile("strata-medians.png", chart, "Median ratio by stratum"))
    return files


# -- price trends -------------------------------------------------------------------------------------------------


def price_trends(*, county: County, parameters: Mapping, job: MarketAnalysisJob | None = None) -> Result:
    """Median sale price and price per square foot of living area, by period and stratum, with counts and the
    change from the same period a year before."""
    date_from, date_to = _date(parameters.get("sale_date_from")), _date(parameters.get("sale_date_to"))
    sales = valid_sales(
        county=county, date_from=date_from, date_to=date_to, classes=parameters.get("property_classes") or None,
        characteristics=True,
    )  # fmt: skip
    if not len(sales):
        raise AnalysisError(f"{county.name} has no valid sales in the window asked for.")
    quarterly = parameters["period"] == Period.QUARTER
    months = month_of(sales["sale_date"]).astype(np.int64)  # months since 1970-01
    periods = (months // 3) if quarterly else months
    per_year = 4 if quarterly else 12
    living = sales["living_area"]
    per_sqft = np.where(
        np.isfinite(living) & (living > 0), sales["sale_price"] / np.where(living > 0, living, 1), np.nan
    )
    strata = strata_of(sales, sales["sale_price"], parameters["stratify_by"], DEFAULT_VALUE_BANDS)

    def series(mask: np.ndarray) -> list[dict]:
        rows = {}
        for period in np.unique(periods[mask]):
            here = mask & (periods == period)
            sqft = per_sqft[here]
            sqft = sqft[np.isfinite(sqft)]
            rows[int(period)] = {
                "period": _period_label(int(period), quarterly),
                "sales": int(here.sum()),
                "median_price": float(np.median(sales["sale_price"][here])),
                "median_price_per_sqft": round(float(np.median(sqft)), 2) if sqft.size else None,
            }
        for period, row in rows.items():
            before = rows.get(period - per_year)
            row["yoy_change"] = None if before is None else round(row["median_price"] / before["median_price"] - 1, 4)
        return list(rows.values())

    everything = np.ones(len(sales), dtype=bool)
    strata_rows = [
        {"stratum": label, "sales": int((strata == label).sum()), "periods": series(strata == label)}
        for label in np.unique(strata)
    ]
    county_rows = series(everything)
    summary = {
        "analysis": Analysis.PRICE_TRENDS,
        "county": county.slug,
        "period": parameters["period"],
        "stratify_by": parameters["stratify_by"],
        "sale_dates": [str(sales["sale_date"][0]), str(sales["sale_date"][-1])],
        "sales": len(sales),
        "county_trend": county_rows,
        "strata": strata_rows,
    }
    largest = sorted(strata_rows, key=lambda s: -s["sales"])[:8] if len(strata_rows) > 1 else []
    chart = _charts().lines(
        {
            "county": ([r["period"] for r in county_rows], [r["median_price"] for r in county_rows]),
            **{s["stratum"]: ([r["period"] for r in s["periods"]], [r["median_price"] for r in s["periods"]])
               for s in largest},
        },
        ylabel="median sale price ($)", title=f"{county.name}: median sale price by {parameters['period']}",
    )  # fmt: skip
    table = [
        {"stratum": s["stratum"], **row} for s in [{"stratum": "county", "periods": county_rows}, *strata_rows]
        for row in s["periods"]
    ]  # fmt: skip
    return summary, [
        ResultFile("price-trends.csv", _csv(table), "Price trends (CSV)"),
        ResultFile("price-trends.png", chart, "Median sale price by period"),
    ]


def _period_label(period: int, quarterly: bool) -> str:
    if quarterly:
        return f"{1970 + period // 4}-Q{period % 4 + 1}"
    return f"{1970 + period // 12}-{period % 12 + 1:02d}"


# -- neighborhood summary -----------------------------------------------------------------------------------------


def neighborhood_summary(*, county: County, parameters: Mapping, job: MarketAnalysisJob | None = None) -> Result:
    """Per neighborhood: parcels, the roll year's value totals and median, valid sales in the window and their
    median price, and the ratio statistics of those sales."""
    roll_year, source = parameters["roll_year"], parameters["value_source"]
    date_from, date_to = study_window(county, parameters)
    totals = neighborhood_value_totals(county=county, roll_year=roll_year, value_source=source)
    parcels = parcel_values(county=county, roll_year=roll_year, value_source=source)
    sales = valid_sales(county=county, date_from=date_from, date_to=date_to, roll_year=roll_year, value_source=source)
    min_sales = county.settings["ratio_study"]["min_sales"]
    rows = []
    for code, entry in totals.items():
        parcel_values_here = parcels["value"][(parcels["neighborhood"] == code) & np.isfinite(parcels["value"])]
        here = sales["neighborhood"] == code
        prices, values = sales["sale_price"][here], sales["value"][here]
        valued = np.isfinite(values) & (values > 0)
        ratio = None
        if valued.sum() >= max(min_sales, stats.MIN_SALES):
            point = stats.ratio_statistics(values[valued], prices[valued])
            ratio = {"n": point.n, "median": point.median, "cod": point.cod, "prd": point.prd}
        rows.append({
            "neighborhood": code or "(none)",
            **entry,
            "median_market_value": float(np.median(parcel_values_here)) if parcel_values_here.size else None,
            "sales": int(here.sum()),
            "median_sale_price": float(np.median(prices)) if prices.size else None,
            "ratio": ratio,
        })  # fmt: skip
    summary = {
        "analysis": Analysis.NEIGHBORHOOD_SUMMARY,
        "county": county.slug,
        "roll_year": roll_year,
        "value_source": source,
        "sale_dates": [str(date_from), str(date_to)],
        "neighborhoods": rows,
        "totals": {
            key: sum(row[key] for row in rows)
            for key in ("parcels", "active_parcels", "valued_parcels", "market_value", "assessed_value", "sales")
        },
    }
    flat = [
        {k: v for k, v in row.items() if k != "ratio"}
        | {f"ratio_{k}": (row["ratio"] or {}).get(k) for k in ("n", "median", "cod", "prd")}
        for row in rows
    ]
    files = [ResultFile("neighborhoods.csv", _csv(flat), "Neighborhood summary (CSV)")]
    with_ratios = [row for row in rows if row["ratio"]]
    if with_ratios:
        chart = _charts().bars(
            [row["neighborhood"] for row in with_ratios], [row["ratio"]["median"] for row in with_ratios],
            reference=1.0, ylabel="median ratio", title=f"{county.name}: median ratio by neighborhood",
        )  # fmt: skip
        files.append(ResultFile("neighborhood-medians.png", chart, "Median ratio by neighborhood"))
    return summary, files


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue().encode()


# Each analysis by its name; each takes the county, the parameters and the job running it (the time index
# keeps its job; the others do not need it).
ANALYSES: dict[str, Callable[..., Result]] = {
    Analysis.TIME_ADJUSTMENT: time_index_build,
    Analysis.RATIO_STUDY: ratio_study,
    Analysis.PRICE_TRENDS: price_trends,
    Analysis.NEIGHBORHOOD_SUMMARY: neighborhood_summary,
}
