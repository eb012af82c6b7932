"""Comparable sales: value a parcel from the valid sales most like it, adjusted line by line. Pure numpy and
scipy (a KD-tree per property class); the job reads the sales and parcels, runs this and stores the results.

For each subject parcel:
1. candidates: the nearest `CANDIDATES` sales of its property class (distance in the county's projected CRS,
   within `max_distance_m`), never a sale of the parcel itself (that would chase its own sale);
2. each candidate's price is brought to the valuation date by the county's time factors, then adjusted for
   each difference from the subject (living area, age, land, quality, condition, location, class) at the
   rates the county's own sales give: the hedonic regression's coefficients (`valuation.hedonic`), never
   constants in code;
3. the `COMPARABLES` candidates that need the least adjustment (gross, with a little for distance and the
   sale's age) are kept, weighted by the inverse of that score, and reconciled to their weighted mean
   adjusted price. The range is that value widened by the spread of the adjusted prices.

Everything is vectorised over subjects: no loop over parcels.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from market_analysis.time_index import NUMERIC_TERMS
from valuation.hedonic import HedonicModel, hedonic_parts

CANDIDATES = 16  # nearest sales of the class looked at (24 gave a 1% lower COD on the demo county, for 50% more work)
COMPARABLES = 5  # kept and reconciled
MAX_DISTANCE_M = 16_093.0  # 10 miles: a sale farther away is no comparable
SCORE_PER_KM = 0.02  # a kilometre away counts like 2% more gross adjustment
SCORE_PER_YEAR = 0.03  # a year-old sale like 3% more
SCORE_FLOOR = 0.05  # weights are 1 / (score + floor): a perfect twin does not take all the weight
Z80 = 1.2816  # the 80% range

# The adjustment lines of a grid: (name, the subject/comparable attribute shown, the regression terms summed: a
# numeric term, or a category's level).
ADJUSTMENTS = (
    ("living area", "living_area", ("log living area",)),
    ("age", "effective_year", ("age",)),
    ("land", "land_area_sqft", ("log land (improved)", "log land (vacant)")),
    ("quality", "quality", ("quality",)),
    ("condition", "condition", ("condition",)),
    ("location", "neighborhood", ("neighborhood",)),
    ("class", "class_code", ("improved", "class_code")),
)
SHOWN_COLUMNS = ("id", "sale_id", "property", "parcel_number", "sale_date", "sale_price")  # of a sale, in a grid
SEARCH_COLUMNS = ("property", "class_code", "x", "y", "sale_date", "sale_price")  # what valuing needs of a sale
ATTRIBUTES = tuple(attribute for _, attribute, _ in ADJUSTMENTS)


class ComparablesError(ValueError):
    """The sales cannot support a comparable-sales valuation; the message says why."""


def adjustment_parts(model: HedonicModel, parcels: Mapping[str, np.ndarray], dates=None) -> np.ndarray:
    """(parcels, adjustment lines): each line's part of a parcel's log price, by the model's rates, with its
    characteristics as of `dates` (a sale: its sale date, so its age is its age when sold; default the valuation
    date). The difference of two parcels' parts is the log adjustment from one to the other."""
    parts = hedonic_parts(model, parcels, dates)
    out = np.zeros((parts.numeric.shape[0], len(ADJUSTMENTS)), dtype=np.float32)
    for line, (_, _, terms) in enumerate(ADJUSTMENTS):
        for term in terms:
            if term in NUMERIC_TERMS:
                out[:, line] += parts.numeric[:, NUMERIC_TERMS.index(term)]
            else:
                out[:, line] += parts.categories[term]
    return out


@dataclass(frozen=True)
class ComparableSet:
    """The sales to search (the method's fitted "model"): their columns (`SHOWN`, class_code, x, y and the
    characteristics), time factor to the valuation date and adjustment parts."""

    sales: dict[str, np.ndarray]
    time_factor: np.ndarray
    parts: np.ndarray
    valuation_date: datetime.date
    residual_sd: float  # the rates' model's: shrinks a subject's spread when it has few comparables

    def __len__(self) -> int:
        return len(self.sales["id"])


def comparable_set(
    model: HedonicModel, sales: Mapping[str, np.ndarray], time_factor: np.ndarray, parts: np.ndarray | None = None
) -> ComparableSet:
    """The sales with a location (x, y finite) ready to search (`parts`: their adjustment parts, if kept)."""
    located = np.isfinite(sales["x"]) & np.isfinite(sales["y"])
    everywhere = bool(located.all())
    kept = {name: np.asarray(column) if everywhere else np.asarray(column)[located] for name, column in sales.items()}
    if not located.any():
        raise ComparablesError("No valid sale has a location (latitude and longitude): there is nothing to compare.")
    return ComparableSet(
        sales=kept,
        time_factor=np.asarray(time_factor, dtype=np.float64)[located],
        parts=adjustment_parts(model, kept, kept["sale_date"]) if parts is None else parts[located],
        valuation_date=model.valuation_date,
        residual_sd=model.residual_sd,
    )


@dataclass(frozen=True)
class ComparablesEstimate:
    value: np.ndarray  # NaN: no comparable
    low: np.ndarray
    high: np.ndarray
    comparables: np.ndarray  # (subjects, COMPARABLES): index into the set's sales, -1 where fewer were found
    weights: np.ndarray  # (subjects, COMPARABLES), summing to 1 over the found ones
    distance_m: np.ndarray  # (subjects, COMPARABLES)
    log_adjustments: np.ndarray  # (subjects, COMPARABLES, adjustment lines)
    adjusted_price: np.ndarray  # (subjects, COMPARABLES)


def comparables_estimate(
    comps: ComparableSet, subjects: Mapping[str, np.ndarray], parts: np.ndarray, *,
    max_distance_m: float = MAX_DISTANCE_M, count: int = COMPARABLES,
) -> ComparablesEstimate:  # fmt: skip
    """Value subjects (columns id, class_code, x, y; `parts` from `adjustment_parts`) from the set's sales."""
    n = len(subjects["id"])
    chosen = np.full((n, count), -1, dtype=np.int64)
    distance = np.full((n, count), np.inf)
    adjust = np.zeros((n, count, len(ADJUSTMENTS)), dtype=np.float32)
    score = np.full((n, count), np.inf)
    located = np.isfinite(subjects["x"]) & np.isfinite(subjects["y"])
    years_ago = (np.datetime64(comps.valuation_date, "D") - comps.sales["sale_date"].astype("datetime64[D]")).astype(
        np.float64
    ) / 365.25
    for kind in np.unique(subjects["class_code"][located]):
        pool = np.flatnonzero(comps.sales["class_code"] == kind)
        who = np.flatnonzero(located & (subjects["class_code"] == kind))
        if not pool.size:
            continue
        tree = cKDTree(np.column_stack([comps.sales["x"][pool], comps.sales["y"][pool]]))
        k = min(CANDIDATES, pool.size)
        near_d, near = tree.query(
            np.column_stack([subjects["x"][who], subjects["y"][who]]), k=k,
            distance_upper_bound=max_distance_m, workers=-1,
        )  # fmt: skip
        near_d, near = near_d.reshape(who.size, k), near.reshape(who.size, k)
        found = near < pool.size
        cand = pool[np.where(found, near, 0)]
        cand_adjust = parts[who][:, None, :] - comps.parts[cand]  # subject minus comparable, per line
        cand_score = np.abs(cand_adjust).sum(axis=2) + SCORE_PER_KM * near_d / 1000.0 + SCORE_PER_YEAR * years_ago[cand]
        own = comps.sales["property"][cand] == subjects["id"][who][:, None]
        cand_score[~found | own] = np.inf
        keep = min(count, k)
        best = np.argsort(cand_score, axis=1, kind="stable")[:, :keep]
        rows = np.arange(who.size)[:, None]
        chosen[who, :keep] = np.where(np.isfinite(cand_score[rows, best]), cand[rows, best], -1)
        distance[who, :keep] = near_d[rows, best]
        adjust[who, :keep] = cand_adjust[rows, best]
        score[who, :keep] = cand_score[rows, best]

    have = chosen >= 0
    safe = np.where(have, chosen, 0)
    adjusted = comps.sales["sale_price"][safe] * comps.time_factor[safe] * np.exp(adjust.sum(axis=2, dtype=np.float64))
    adjusted = np.where(have, adjusted, np.nan)
    weights = np.where(have, 1.0 / (np.where(have, score, 0.0) + SCORE_FLOOR), 0.0)
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = weights / total[:, None]
        value = np.where(total > 0, np.nansum(weights * np.where(have, adjusted, 0.0), axis=1), np.nan)
        logs = np.log(np.where(have, adjusted, 1.0))
        centre = (weights * logs).sum(axis=1)
        spread2 = (weights * (logs - centre[:, None]) ** 2).sum(axis=1)
    found = have.sum(axis=1)
    concentration = (weights**2).sum(axis=1)  # 1 / the effective number of comparables
    with np.errstate(invalid="ignore", divide="ignore"):
        unbiased = np.where(found > 1, spread2 / (1 - concentration), 0.0)
    # The comparables' own spread (unbiased), shrunk toward the rates' model's residual sd when there are few of
    # them; a sale of the subject would differ from the value by its own noise and the value's error.
    noise = (found * np.nan_to_num(unbiased) + 2 * comps.residual_sd**2) / (found + 2)
    sd = np.sqrt(noise * (1 + np.nan_to_num(concentration)))
    return ComparablesEstimate(
        value=value,
        low=value * np.exp(-Z80 * sd),
        high=value * np.exp(Z80 * sd),
        comparables=chosen,
        weights=np.where(have, weights, 0.0),
        distance_m=distance,
        log_adjustments=adjust,
        adjusted_price=adjusted,
    )


def _plain(value):
    """A numpy scalar as JSON-able Python (dates as ISO text, NaN as None)."""
    if isinstance(value, np.datetime64):
        return str(value.astype("datetime64[D]"))
    if isinstance(value, np.floating | float):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _age(effective_year, when) -> int | None:
    if not np.isfinite(effective_year):
        return None
    return max(0, int(np.datetime64(when, "Y").astype(np.int64) + 1970 - effective_year))


def comparables_grid(
    comps: ComparableSet, estimate: ComparablesEstimate, row: int, subject: Mapping[str, np.ndarray]
) -> dict:
    """One subject's grid (row `row` of the estimate; `subject` its columns, row `row` too): for each
    comparable the sale, distance, raw price, time adjustment, each adjustment (the attribute on both sides (for
    age: the subject's at the valuation date, the comparable's when sold), its percent and dollars, applied in
    order so the dollars add up) and the adjusted price and weight."""
    lines = []
    for slot in np.flatnonzero(estimate.comparables[row] >= 0):
        sale = int(estimate.comparables[row, slot])
        price = float(comps.sales["sale_price"][sale])
        # Each line's dollars are the change of the rounded running total: they add up to the net exactly.
        running = price * float(comps.time_factor[sale])
        adjustments = [{
            "name": "time", "subject": str(comps.valuation_date), "comparable": _plain(comps.sales["sale_date"][sale]),
            "percent": round((float(comps.time_factor[sale]) - 1) * 100, 2), "amount": round(running) - round(price),
        }]  # fmt: skip
        sold = comps.sales["sale_date"][sale]
        for line, (name, attribute, _) in enumerate(ADJUSTMENTS):
            log_adjust = float(estimate.log_adjustments[row, slot, line])
            after = running * np.exp(log_adjust)
            shown = (  # age: the subject's at the valuation date, the comparable's when it sold
                (_age(subject[attribute][row], comps.valuation_date), _age(comps.sales[attribute][sale], sold))
                if name == "age" else (_plain(subject[attribute][row]), _plain(comps.sales[attribute][sale]))
            )  # fmt: skip
            adjustments.append({
                "name": name, "subject": shown[0], "comparable": shown[1],
                "percent": round((np.exp(log_adjust) - 1) * 100, 2), "amount": round(after) - round(running),
            })  # fmt: skip
            running = after
        lines.append({
            "sale": {name: _plain(comps.sales[name][sale]) for name in SHOWN_COLUMNS},
            "distance_m": round(float(estimate.distance_m[row, slot]), 1),
            "distance_miles": round(float(estimate.distance_m[row, slot]) / 1609.344, 2),
            "price": round(price),
            "adjustments": adjustments,
            "net_adjustment": round(running - price),
            "gross_adjustment_percent": round(
                sum(abs(a["amount"]) for a in adjustments[1:]) / (price * float(comps.time_factor[sale])) * 100, 2
            ),
            "adjusted_price": round(running),
            "weight": round(float(estimate.weights[row, slot]), 4),
        })  # fmt: skip
    return {
        "value": None if not np.isfinite(estimate.value[row]) else round(float(estimate.value[row])),
        "low": None if not np.isfinite(estimate.low[row]) else round(float(estimate.low[row])),
        "high": None if not np.isfinite(estimate.high[row]) else round(float(estimate.high[row])),
        "valuation_date": str(comps.valuation_date),
        "subject": {attribute: _plain(subject[attribute][row]) for attribute in ATTRIBUTES},
        "comparables": lines,
    }
