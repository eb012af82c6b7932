"""Hedonic mass appraisal: a log-linear regression of sale price on a parcel's characteristics, location and
time, fitted to valid sales and applied to any parcel at any date. Pure numpy (issue 9's `hedonic` method;
the job that reads the sales, runs this and stores the results builds on it).

log(price) = intercept + characteristics (`market_analysis.time_index.characteristics_design`: living area,
age, land, neighborhood, class, quality, condition) + trend x months from the valuation date. Estimates are
exp(prediction): median-unbiased (no smearing), so a study of them aims at a median ratio of 1.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from market_analysis.time_index import (
    CATEGORIES,
    NUMERIC_TERMS,
    characteristics_design,
    characteristics_of,
    months_between,
)


class HedonicError(ValueError):
    """The sales cannot support the model; the message says why."""


@dataclass(frozen=True)
class HedonicModel:
    terms: list[str]  # one per coefficient: "intercept", "months to the valuation date", then characteristics
    coefficients: np.ndarray
    levels: dict[str, np.ndarray]  # each category's levels in the fit (the first is the reference)
    valuation_date: datetime.date
    residual_sd: float  # of log price: the width of the estimates' ranges
    sales: int
    vacant_class: str | None = None  # the class most vacant-land sales have (None: no vacant sales to price land)

    def effects(self) -> dict[str, float]:
        """Each term's coefficient (log scale), for the job's report."""
        return dict(zip(self.terms, (float(c) for c in self.coefficients), strict=True))


@dataclass(frozen=True)
class HedonicEstimate:
    value: np.ndarray  # the estimate of each parcel at its date
    low: np.ndarray  # value x exp(-z sd), value x exp(+z sd): the range a sale would fall in 80% of the time
    high: np.ndarray
    contributions: np.ndarray | None  # (parcels, terms): each term's part of log(value), summing to it
    unseen: np.ndarray  # bool: a category level the fit never saw (priced as its reference level)


def _design(parcels: Mapping[str, np.ndarray], dates: np.ndarray, valuation_date, levels=None):
    """The model's columns: intercept, months from the valuation date (negative before it), characteristics."""
    controls, names, used = characteristics_design(parcels, dates, levels)
    time = -months_between(dates, valuation_date)
    terms = ["intercept", "months to the valuation date", *names]
    return np.column_stack([np.ones(time.size), time, controls]), terms, used


def hedonic_fit(sales: Mapping[str, np.ndarray], *, valuation_date: datetime.date) -> HedonicModel:
    """Fit the model to sales: columns sale_date, sale_price and the characteristics (living_area,
    effective_year, land_area_sqft above 0, neighborhood, class_code, quality, condition)."""
    n = len(sales["sale_price"])
    design, terms, levels = _design(sales, sales["sale_date"], valuation_date)
    if n < 2 * design.shape[1]:
        raise HedonicError(f"{n} sales are too few for a model of {design.shape[1]} terms (at least twice as many).")
    y = np.log(sales["sale_price"])
    # Least squares by the normal equations (a terms x terms system: a tenth of lstsq's time on 200,000 sales),
    # solved by lstsq so a column that repeats another (no vacant sales, say) still gets a minimum-norm answer.
    coefficients, *_ = np.linalg.lstsq(design.T @ design, design.T @ y, rcond=None)
    residuals = y - design @ coefficients
    return HedonicModel(
        terms=terms,
        coefficients=coefficients,
        levels=levels,
        valuation_date=valuation_date,
        residual_sd=float(np.sqrt(residuals @ residuals / max(1, n - design.shape[1]))),
        sales=n,
        vacant_class=_modal_vacant_class(sales),
    )


def _modal_vacant_class(sales: Mapping[str, np.ndarray]) -> str | None:
    vacant = sales["class_code"][~(np.isfinite(sales["living_area"]) & (sales["living_area"] > 0))]
    if not vacant.size:
        return None
    kinds, counts = np.unique(vacant, return_counts=True)
    return str(kinds[np.argmax(counts)])


@dataclass(frozen=True)
class HedonicParts:
    """A prediction's linear predictor in parts: what the adjustments of comparable sales are made of."""

    intercept: float
    time: np.ndarray  # (parcels,)
    numeric: np.ndarray  # (parcels, NUMERIC_TERMS): each numeric term's contribution
    categories: dict[str, np.ndarray]  # category -> (parcels,): its level's contribution

    def total(self) -> np.ndarray:
        return self.intercept + self.time + self.numeric.sum(axis=1) + sum(self.categories.values())


def hedonic_parts(model: HedonicModel, parcels: Mapping[str, np.ndarray], dates=None) -> HedonicParts:
    """The linear predictor of parcels at `dates` (default: the valuation date) in parts, without the full design
    matrix (a column per level): a mass appraisal's predictions cost a handful of vector operations."""
    n = len(parcels["land_area_sqft"])
    when = np.full(n, np.datetime64(model.valuation_date, "D")) if dates is None else np.asarray(dates)
    terms = characteristics_of(parcels, when, model.levels)
    numeric = model.coefficients[2 : 2 + len(NUMERIC_TERMS)]
    return HedonicParts(
        intercept=float(model.coefficients[0]),
        time=model.coefficients[1] * -months_between(when, model.valuation_date),
        numeric=terms.numeric * numeric,
        categories=terms.category_parts(model.coefficients[2:]),
    )


def hedonic_predict(
    model: HedonicModel, parcels: Mapping[str, np.ndarray], dates=None, *, contributions: bool = True
) -> HedonicEstimate:
    """Estimates of parcels at `dates` (default: the valuation date); with each term's contribution unless
    `contributions` is False (a mass appraisal, which needs only the value: `hedonic_parts`)."""
    n = len(parcels["land_area_sqft"])
    unseen = hedonic_unseen(model, parcels)
    if contributions:
        when = np.full(n, np.datetime64(model.valuation_date, "D")) if dates is None else np.asarray(dates)
        design, _, _ = _design(parcels, when, model.valuation_date, model.levels)
        parts = design * model.coefficients
        log_value = parts.sum(axis=1)
    else:
        parts, log_value = None, hedonic_parts(model, parcels, dates).total()
    spread = 1.2816 * model.residual_sd  # z of the 80% range
    value = np.exp(log_value)
    return HedonicEstimate(
        value=value,
        low=value * np.exp(-spread),
        high=value * np.exp(spread),
        contributions=parts,
        unseen=unseen,
    )


def hedonic_unseen(model: HedonicModel, parcels: Mapping[str, np.ndarray]) -> np.ndarray:
    """Whether each parcel has a category level the fit never saw (it is priced at the reference level)."""
    unseen = np.zeros(len(parcels["land_area_sqft"]), dtype=bool)
    for category in CATEGORIES:
        unseen |= ~np.isin(np.asarray(parcels[category]).astype(str), np.asarray(model.levels[category]).astype(str))
    return unseen
