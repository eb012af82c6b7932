"""Gradient-boosted mass appraisal: LightGBM on log sale price, fitted to valid sales and applied to any parcel at
any date. Pure (numpy and LightGBM): the job reads the sales, runs this and stores the results.

Features: log living area, effective age, log land area, quality and condition (ordinal), neighborhood and
class (categorical), months to the valuation date, and the parcel's position (x, y in the county's projected
CRS, metres): within-neighborhood location is the one thing a neighborhood dummy cannot see. Value rises with
living area, land, quality and condition, and falls with age (monotone constraints), so an estimate
moves the way an appraiser expects when a characteristic changes. Estimates are exp(prediction), like the
hedonic model's; a parcel's explanation is LightGBM's per-feature contributions (`pred_contrib`), which add up
with the model's base value to the log of the estimate.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

import lightgbm
import numpy as np

from market_analysis.time_index import months_between

FEATURES = (
    "log living area", "age", "log land area", "quality", "condition", "neighborhood", "class",
    "months to the valuation date", "x", "y",
)  # fmt: skip
CATEGORICAL = (5, 6)
MONOTONE = (1, -1, 1, 1, 1, 0, 0, 0, 0, 0)  # the market may fall as well as rise: time is free
# Shallow trees, many rounds: the price surface is smooth in most features (measured on the demo county: 7 leaves
# beat 15 and 31 on the holdout COD at 8,000 and 20,000 parcels).
PARAMETERS = {
    "objective": "regression",
    "num_leaves": 7,
    "learning_rate": 0.1,
    "min_data_in_leaf": 40,
    "cat_smooth": 10,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
}
ROUNDS = 600
Z80 = 1.2816


class GbmError(ValueError):
    """The sales cannot support the model; the message says why."""


@dataclass(frozen=True)
class GbmModel:
    booster: lightgbm.Booster
    levels: dict[str, np.ndarray]  # the neighborhood and class codes seen in the fit (a category's number: its index)
    ordinal: dict[str, list[str]]  # quality and condition codes, worst to best
    valuation_date: datetime.date
    residual_sd: float  # of log price, on sales the model did not see where there are any: the ranges' width
    sales: int

    def importances(self) -> dict[str, float]:
        """Each feature's share of the total gain of the model's splits."""
        gain = self.booster.feature_importance(importance_type="gain")
        total = float(gain.sum()) or 1.0
        return {name: round(float(g) / total, 4) for name, g in zip(FEATURES, gain, strict=True)}


def features(levels: Mapping, parcels: Mapping[str, np.ndarray], dates, valuation_date, ordinal) -> np.ndarray:
    """The feature matrix of parcels at `dates` (NaN where a feature is unknown: LightGBM routes it)."""
    n = len(parcels["land_area_sqft"])
    improved = np.isfinite(parcels["living_area"]) & (parcels["living_area"] > 0)
    year = np.asarray(dates).astype("datetime64[Y]").astype(np.int64) + 1970
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = [
            np.where(improved, np.log(np.where(improved, parcels["living_area"], 1.0)), np.nan),
            np.where(improved, np.maximum(0, year - parcels["effective_year"]), np.nan),
            np.log(parcels["land_area_sqft"]),
        ]
    for name in ("quality", "condition"):
        codes = {code: i for i, code in enumerate(ordinal[name])}
        columns.append(np.array([codes.get(value, np.nan) for value in parcels[name]], dtype=np.float64))
    for name in ("neighborhood", "class_code"):
        known = levels[name]
        position = np.clip(np.searchsorted(known, parcels[name]), 0, max(known.size - 1, 0))
        seen = known[position] == parcels[name] if known.size else np.zeros(n, dtype=bool)
        columns.append(np.where(seen, position, np.nan).astype(np.float64))  # unseen: missing (LightGBM routes it)
    columns.append(-months_between(dates, valuation_date))
    columns += [np.asarray(parcels["x"], dtype=np.float64), np.asarray(parcels["y"], dtype=np.float64)]
    return np.column_stack(columns) if n else np.empty((0, len(FEATURES)))


def gbm_fit(
    sales: Mapping[str, np.ndarray], *, valuation_date: datetime.date, ordinal: dict[str, list[str]],
    seed: int = 0, threads: int = 0,
) -> GbmModel:  # fmt: skip
    """Fit to sales: sale_date, sale_price and the characteristics, neighborhood, class_code, x and y."""
    n = len(sales["sale_price"])
    least = 2 * PARAMETERS["min_data_in_leaf"]
    if n < least:
        raise GbmError(f"{n} sales are too few for a gradient-boosted model (at least {least}).")
    levels = {name: np.unique(sales[name]) for name in ("neighborhood", "class_code")}
    x = features(levels, sales, sales["sale_date"], valuation_date, ordinal)
    y = np.log(sales["sale_price"])
    data = lightgbm.Dataset(x, y, feature_name=[f.replace(" ", "_") for f in FEATURES],
                            categorical_feature=list(CATEGORICAL), free_raw_data=True)  # fmt: skip
    parameters = {**PARAMETERS, "monotone_constraints": list(MONOTONE), "seed": seed, "num_threads": threads}
    booster = lightgbm.train(parameters, data, num_boost_round=ROUNDS)
    residuals = y - booster.predict(x, num_threads=threads)
    return GbmModel(
        booster=booster, levels=levels, ordinal=ordinal, valuation_date=valuation_date,
        residual_sd=float(np.sqrt(np.mean(residuals**2))), sales=n,
    )  # fmt: skip


@dataclass(frozen=True)
class GbmEstimate:
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray


def gbm_predict(model: GbmModel, parcels: Mapping[str, np.ndarray], dates=None, *, threads: int = 0) -> GbmEstimate:
    """Estimates of parcels at `dates` (default: the valuation date)."""
    n = len(parcels["land_area_sqft"])
    when = np.full(n, np.datetime64(model.valuation_date, "D")) if dates is None else np.asarray(dates)
    value = np.exp(model.booster.predict(features(model.levels, parcels, when, model.valuation_date, model.ordinal),
                                         num_threads=threads))  # fmt: skip
    spread = Z80 * model.residual_sd
    return GbmEstimate(value=value, low=value * np.exp(-spread), high=value * np.exp(spread))


def gbm_contributions(model: GbmModel, parcels: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's contribution to the log estimate at the valuation date (parcels, FEATURES) and the model's
    base value (parcels,): they add up to log(value)."""
    n = len(parcels["land_area_sqft"])
    when = np.full(n, np.datetime64(model.valuation_date, "D"))
    x = features(model.levels, parcels, when, model.valuation_date, model.ordinal)
    contributions = model.booster.predict(x, pred_contrib=True)
    return contributions[:, :-1], contributions[:, -1]


def gbm_dump(model: GbmModel) -> tuple[dict, str]:
    """The model as JSON (its levels, dates and spread) and LightGBM's own text (the trees)."""
    return {
        "levels": {name: [str(v) for v in levels] for name, levels in model.levels.items()},
        "ordinal": model.ordinal,
        "valuation_date": str(model.valuation_date),
        "residual_sd": model.residual_sd,
        "sales": model.sales,
        "features": list(FEATURES),
        "importances": model.importances(),
    }, model.booster.model_to_string()


def gbm_load(kept: Mapping, trees: str) -> GbmModel:
    return GbmModel(
        booster=lightgbm.Booster(model_str=trees),
        levels={name: np.array(levels, dtype=object) for name, levels in kept["levels"].items()},
        ordinal=kept["ordinal"],
        valuation_date=datetime.date.fromisoformat(kept["valuation_date"]),
        residual_sd=kept["residual_sd"],
        sales=kept["sales"],
    )
