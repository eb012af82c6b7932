"""Mass appraisal: train on the county's valid sales, keep a holdout to judge the model with the ratio
statistics, value every active parcel, store a ValuationResult each. The job runner calls these.
"""

import datetime
import json
from collections.abc import Mapping

import numpy as np
from django.db import transaction

from counties.models import County
from market_analysis import stats
from market_analysis.selectors import SalesColumns, valid_sales
from market_analysis.services import valuation_date
from valuation.choices import ValuationMethod
from valuation.hedonic import HedonicError, HedonicModel, hedonic_fit, hedonic_predict
from valuation.models import ValuationJob, ValuationResult
from valuation.selectors import parcels_to_value

SALE_YEARS = 5  # default training window: the five years of sales before the valuation date
LAND_SHARE_MAX = 0.8  # an improved parcel's land is at most this share of its value


class ValuationError(ValueError):
    """The valuation cannot run as asked on this county's data; the message says why."""


def _usable(columns: SalesColumns) -> tuple[np.ndarray, np.ndarray]:
    """Which rows have what the model needs (a land area; for improved parcels an effective year), and why
    the others cannot be valued."""
    land = columns["land_area_sqft"]
    improved = np.isfinite(columns["living_area"]) & (columns["living_area"] > 0)
    reason = np.full(len(columns), "", dtype=object)
    reason[improved & ~np.isfinite(columns["effective_year"])] = "no effective year"
    reason[~(np.isfinite(land) & (land > 0))] = "no land area"
    return reason == "", reason


def mass_appraisal(*, county: County, job: ValuationJob, parameters: Mapping) -> tuple[dict, bytes]:
    """Value every active parcel (of the neighborhoods asked) by the method; the summary and the fitted model
    as JSON (kept with the job: the explanations are computed from it)."""
    roll_year = parameters["roll_year"]
    target = valuation_date(county, roll_year)
    date_to = parameters.get("sale_date_to") or target - datetime.timedelta(days=1)
    date_from = parameters.get("sale_date_from") or datetime.date(date_to.year - SALE_YEARS + 1, 1, 1)
    neighborhoods = parameters.get("neighborhoods") or None
    sales = valid_sales(county=county, date_from=date_from, date_to=date_to, characteristics=True)
    if neighborhoods:
        sales = sales.take(np.isin(sales["neighborhood"], neighborhoods))
    usable, _ = _usable(sales)
    sales = sales.take(usable & (sales["sale_price"] > 0))
    if not len(sales):
        raise ValuationError(
            f"{county.name} has no valid sales with a land area from {date_from} to {date_to}"
            + (f" in neighborhoods {', '.join(neighborhoods)}" if neighborhoods else "")
            + ": there is nothing to train a model on."
        )
    holdout = np.random.default_rng(parameters.get("seed", 0)).random(len(sales)) < parameters["holdout_share"]
    train, test = sales.take(~holdout), sales.take(holdout)
    try:
        model = hedonic_fit(train.columns, valuation_date=target)
    except HedonicError as exc:
        raise ValuationError(f"{county.name}: {exc}") from None

    checked = hedonic_predict(model, test.columns, dates=test["sale_date"])
    study = stats.stratified_study(
        checked.value, test["sale_price"], test["neighborhood"], resamples=0, seed=parameters.get("seed", 0)
    ) if len(test) >= stats.MIN_SALES else None  # fmt: skip

    parcels = parcels_to_value(county=county, neighborhoods=neighborhoods)
    valued, reason = _usable(parcels)
    estimate = hedonic_predict(model, parcels.take(valued).columns)
    land = _land_values(model, parcels.take(valued), estimate.value, train)
    _store(county=county, job=job, roll_year=roll_year, parcels=parcels.take(valued), estimate=estimate, land=land)
    summary = {
        "method": ValuationMethod.HEDONIC,
        "county": county.slug,
        "roll_year": roll_year,
        "valuation_date": str(target),
        "sale_dates": [str(date_from), str(date_to)],
        "neighborhoods": neighborhoods,
        "sales": {"training": len(train), "holdout": len(test)},
        "holdout": None if study is None else {"overall": study["overall"], "by_neighborhood": study["strata"]},
        "effects": model.effects(),
        "residual_sd": model.residual_sd,
        "parcels": {
            "valued": int(valued.sum()),
            "not_valued": int((~valued).sum()),
            "valued_at_a_reference_level": int(estimate.unseen.sum()),
        },
        "not_valued": [
            {"property": int(parcels["id"][i]), "reason": reason[i]} for i in np.flatnonzero(~valued)[:1000]
        ],
    }
    return summary, json.dumps(model_json(model)).encode()


def _land_values(model: HedonicModel, parcels: SalesColumns, values: np.ndarray, train: SalesColumns) -> np.ndarray:
    """Land: the model's price of the same lot as vacant land (the class most vacant sales have), at most 80%
    of an improved parcel's value; all of a vacant parcel's value. Without vacant-land sales to price land
    by, an improved parcel's land keeps its current share of its value (the median share where it has none)."""
    improved = np.isfinite(parcels["living_area"]) & (parcels["living_area"] > 0)
    vacant_sales = train["class_code"][~(np.isfinite(train["living_area"]) & (train["living_area"] > 0))]
    if not vacant_sales.size:
        with np.errstate(invalid="ignore", divide="ignore"):
            share = parcels["land_value"] / parcels["market_value"]
        known = np.isfinite(share) & (share > 0) & (share < 1) & improved
        typical = float(np.median(share[known])) if known.any() else 0.0
        return np.where(improved, values * np.where(known, share, typical), values)
    kinds, counts = np.unique(vacant_sales, return_counts=True)
    as_vacant = {
        **parcels.columns,
        "living_area": np.full(len(parcels), np.nan),
        "quality": np.full(len(parcels), "", dtype=object),
        "condition": np.full(len(parcels), "", dtype=object),
        "class_code": np.full(len(parcels), kinds[np.argmax(counts)], dtype=object),
    }
    land = hedonic_predict(model, as_vacant).value
    return np.where(improved, np.minimum(land, LAND_SHARE_MAX * values), values)


def _store(*, county: County, job: ValuationJob, roll_year: int, parcels: SalesColumns, estimate, land) -> None:
    """The results, all or none (a worker killed half way leaves none)."""
    current = parcels["market_value"]
    value = np.round(estimate.value).astype(np.int64)
    land_value = np.minimum(np.round(land).astype(np.int64), value)
    rows = (
        ValuationResult(
            county=county,
            job=job,
            property_id=int(pk),
            roll_year=roll_year,
            method=ValuationMethod.HEDONIC,
            estimate=int(v),
            land_value=int(lv),
            improvement_value=int(v - lv),
            low=round(lo),
            high=round(hi),
            current_value=None if not np.isfinite(c) else int(c),
            change=None if not (np.isfinite(c) and c > 0) else float(v / c - 1),
        )
        for pk, v, lv, lo, hi, c in zip(
            parcels["id"], value, land_value, estimate.low, estimate.high, current, strict=True
        )
    )
    with transaction.atomic():
        ValuationResult.objects.bulk_create(rows, batch_size=5000)


def model_json(model: HedonicModel) -> dict:
    """The fitted model as JSON: enough to explain (or recompute) any of its estimates."""
    return {
        "method": ValuationMethod.HEDONIC,
        "valuation_date": str(model.valuation_date),
        "terms": model.terms,
        "coefficients": [float(c) for c in model.coefficients],
        "levels": {name: [str(level) for level in levels] for name, levels in model.levels.items()},
        "residual_sd": model.residual_sd,
        "sales": model.sales,
    }
