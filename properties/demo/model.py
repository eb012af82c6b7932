"""The true model of the demo county: the hedonic price model, the assessment and the sale kinds it follows.

Everything a demo price or value comes from lives here, so valuation and ratio-study code has a truth to
recover: `DemoModel` (coefficients), the code lists its coefficients are indexed by, the sale kinds,
`log_price_mean` (the model's expected log price of parcels at given dates) and `demo_model_json` (the truth
as stored in `county.settings["demo_model"]`). Pure Python and numpy: no Django, no database.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # only for the annotation: the kernels import this module, not the other way round
    from properties.demo.kernels import Characteristics

SALE_YEARS = 5  # sales span the five calendar years before the working roll year

# The values of properties.choices.Quality and Condition, in order (the tests hold them equal): plain strings,
# so this module needs no Django.
QUALITY_CODES = ("low", "fair", "average", "good", "very_good", "excellent")
QUALITY_SHARES = (0.03, 0.12, 0.45, 0.28, 0.09, 0.03)
CONDITION_CODES = ("poor", "fair", "average", "good", "excellent")
CONDITION_SHARES = (0.03, 0.12, 0.60, 0.20, 0.05)
# Washington DOR land-use codes: 11 single family, 12 two-to-four units, 13 five or more units,
# 51 retail/commercial, 91 undeveloped land.
CLASS_CODES = ("11", "12", "13", "51", "91")
VACANT_CLASS = "91"


@dataclass(frozen=True)
class DemoModel:
    """The hedonic model every demo price and value comes from (log dollars)."""

    intercept: float = 7.62
    b_area: float = 0.55  # elasticity of price to living area
    b_age: float = -0.004  # per year of effective age
    b_land: float = 0.12  # elasticity of an improved parcel's price to its land area
    b_quality: tuple[float, ...] = (-0.30, -0.15, 0.0, 0.12, 0.25, 0.40)  # QUALITY_CODES order
    b_condition: tuple[float, ...] = (-0.25, -0.10, 0.0, 0.06, 0.12)  # CONDITION_CODES order
    b_class: tuple[float, ...] = (0.0, -0.04, -0.08, 0.10)  # improved CLASS_CODES order (11, 12, 13, 51)
    trend_per_month: float = 0.004  # log change per month: a market rising about 5% a year
    sigma: float = 0.12  # sale-price noise (log)
    vacant_intercept: float = 6.91  # vacant land: log(price) = vacant_intercept + vacant_b_land * log(land_sqft) ...
    vacant_b_land: float = 0.5
    neighborhood_sd: float = 0.15  # spread of the neighborhood (location) effects
    # Assessment: values at 1 January of the roll year = model mean * level * noise, slightly regressive.
    assessment_level: float = 0.94
    assessment_sd_parcel: float = 0.05  # persists from year to year
    assessment_sd_year: float = 0.03
    assessment_sd_neighborhood: float = 0.03  # per neighborhood and year
    assessment_regressivity: float = -0.03  # cheap homes a little over-, dear ones under-assessed


DEMO_MODEL = DemoModel()


@dataclass(frozen=True)
class SaleKind:
    code: str  # validity code (Benton: "00" is arm's length)
    valid: bool
    share: float  # of all sales
    deeds: tuple[str, ...]
    deed_shares: tuple[float, ...]
    price_factor: tuple[float, float]  # uniform range applied to the market price
    multi_parcel: bool
    description: str


SALE_KINDS = (
    SaleKind("00", True, 0.83, ("SWD", "WD", "BSD"), (0.85, 0.10, 0.05), (1.0, 1.0), False, "arm's-length sale"),
    SaleKind("13", False, 0.06, ("QC",), (1.0,), (0.25, 0.75), False, "family / related-party transfer"),
    SaleKind(
        "15", False, 0.03, ("SHD", "TD"), (0.5, 0.5), (0.55, 0.85), False, "foreclosure: sheriff's/trustee's deed"
    ),
    SaleKind("12", False, 0.03, ("PRD",), (1.0,), (0.75, 0.95), False, "estate sale by a personal representative"),
    SaleKind("25", False, 0.035, ("SWD",), (1.0,), (1.4, 2.6), True, "multi-parcel sale: price covers several parcels"),
    SaleKind("22", False, 0.015, ("SWD",), (1.0,), (1.05, 1.2), False, "relocation-company sale"),
)
SALE_MONTH_WEIGHTS = np.array([6, 6, 8, 9, 10, 11, 11, 10, 9, 8, 6, 6], dtype=float)
SALE_TURNOVER = (0.08, 0.12)  # share of parcels that sell in a year, drawn per year


def months_since(dates: np.ndarray, base: np.datetime64) -> np.ndarray:
    """Months (of 30.4375 days) from `base` to each date: the time variable of the market trend."""
    return (dates.astype("datetime64[D]") - base).astype(np.float64) / 30.4375


def log_price_mean(
    *, model: DemoModel, chars: "Characteristics", neighborhood_effect: np.ndarray, dates: np.ndarray,
    trend_base: np.datetime64, index: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """The model's expected log price of parcels (all, or `index`) at `dates`, without noise.

    Improved parcels: intercept + b_area*log(area) + b_age*age + quality + condition + b_land*log(land)
    + class + neighborhood + trend*months, with age = max(0, year of the date - effective year).
    Vacant land: vacant_intercept + vacant_b_land*log(land) + neighborhood + trend*months.
    """
    idx = np.arange(chars.class_index.size) if index is None else index
    dates = np.broadcast_to(np.asarray(dates, dtype="datetime64[D]"), idx.shape)
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    vacant = chars.vacant[idx]
    log_land = np.log(chars.land_sqft[idx])
    common = neighborhood_effect[chars.neighborhood[idx]] + model.trend_per_month * months_since(dates, trend_base)
    age = np.maximum(0, year - chars.effective_year[idx])
    improved_class = np.minimum(chars.class_index[idx], len(model.b_class) - 1)
    improved = (
        model.intercept
        + model.b_area * np.log(np.maximum(chars.living_area[idx], 1))
        + model.b_age * age
        + np.asarray(model.b_quality)[chars.quality[idx]]
        + np.asarray(model.b_condition)[chars.condition[idx]]
        + model.b_land * log_land
        + np.asarray(model.b_class)[improved_class]
    )
    land_only = model.vacant_intercept + model.vacant_b_land * log_land
    return np.where(vacant, land_only, improved) + common


def demo_model_json(
    *, model: DemoModel, seed: int, neighborhood_effects: Mapping[str, float], trend_base: np.datetime64,
    certified_year: int, working_year: int,
) -> dict:  # fmt: skip
    """The truth, as stored in `county.settings["demo_model"]`: coefficients, formulas, sale kinds, roll years."""
    m = model
    return {
        "seed": seed,
        "formula": (
            "log(price) = intercept + b_area*log(living_area) + b_age*age + b_quality[quality] "
            "+ b_condition[condition] + b_land*log(land_area_sqft) + b_class[class_code] "
            "+ neighborhood[code] + trend_per_month*months + noise(sigma)"
        ),
        "age": "max(0, calendar year of the date - effective_year)",
        "months": "(date - trend_base_date) in days / 30.4375",
        "intercept": m.intercept,
        "b_area": m.b_area,
        "b_age": m.b_age,
        "b_land": m.b_land,
        "b_quality": dict(zip(QUALITY_CODES, m.b_quality, strict=True)),
        "b_condition": dict(zip(CONDITION_CODES, m.b_condition, strict=True)),
        "b_class": dict(zip(CLASS_CODES, m.b_class, strict=False)),
        "neighborhood": dict(neighborhood_effects),
        "trend_per_month": m.trend_per_month,
        "trend_base_date": str(trend_base),
        "sigma": m.sigma,
        "vacant_land": {
            "class_codes": [VACANT_CLASS],
            "formula": "log(price) = intercept + b_land*log(land_area_sqft) + neighborhood[code] "
            "+ trend_per_month*months + noise(sigma)",
            "intercept": m.vacant_intercept,
            "b_land": m.vacant_b_land,
        },
        "assessment": {
            "valuation_date": "1 January of the roll year",
            "formula": "log(market_value) = model mean + log(level) + regressivity*(mean - county mean) "
            "+ parcel + year + neighborhood-year errors; land from the vacant-land model with the same "
            "error, at most 80% of market; market = land + improvement = assessed",
            "level": m.assessment_level,
            "sd_parcel": m.assessment_sd_parcel,
            "sd_year": m.assessment_sd_year,
            "sd_neighborhood": m.assessment_sd_neighborhood,
            "regressivity": m.assessment_regressivity,
            "roll_years": {"certified": certified_year, "working": working_year},
        },
        "sales": {
            "years": [working_year - SALE_YEARS + i for i in range(SALE_YEARS)],
            "turnover_per_year": list(SALE_TURNOVER),
            "kinds": [
                {
                    "validity_code": k.code,
                    "is_valid": k.valid,
                    "share": k.share,
                    "deed_types": list(k.deeds),
                    "price_factor": list(k.price_factor),
                    "is_multi_parcel": k.multi_parcel,
                    "description": k.description,
                }
                for k in SALE_KINDS
            ],
        },
    }


def stored_model_log_price(truth: Mapping, parcels: Mapping[str, np.ndarray], dates) -> np.ndarray:
    """The true model's expected log price of parcels at `dates` (one date or one each), from the truth as a county
    stores it (`demo_model_json`) and the parcels' columns as the database gives them (codes as text, NaN where a
    number is missing): the oracle a valuation method is judged against."""
    dates = np.broadcast_to(np.asarray(dates, dtype="datetime64[D]"), np.shape(parcels["land_area_sqft"]))
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = months_since(dates, np.datetime64(truth["trend_base_date"]))
    vacant = np.isin(parcels["class_code"], truth["vacant_land"]["class_codes"])
    log_land = np.log(parcels["land_area_sqft"])
    neighborhood = np.array([truth["neighborhood"][code] for code in parcels["neighborhood"]])
    area = np.where(vacant, 1.0, parcels["living_area"])
    improved = (
        truth["intercept"]
        + truth["b_area"] * np.log(np.maximum(area, 1.0))
        + truth["b_age"] * np.maximum(0, year - np.nan_to_num(parcels["effective_year"], nan=year))
        + np.array([truth["b_quality"].get(q, 0.0) for q in parcels["quality"]])
        + np.array([truth["b_condition"].get(c, 0.0) for c in parcels["condition"]])
        + truth["b_land"] * log_land
        + np.array([truth["b_class"].get(c, 0.0) for c in parcels["class_code"]])
    )
    land = truth["vacant_land"]["intercept"] + truth["vacant_land"]["b_land"] * log_land
    return np.where(vacant, land, improved) + neighborhood + truth["trend_per_month"] * months
