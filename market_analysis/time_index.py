"""The hedonic time index: a pure function over numpy columns of sales (the service reads them and stores
the result). No Django, no database."""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

DAYS_PER_MONTH = 30.4375


class TimeIndexError(ValueError):
    """The sales cannot support a time index; the message says why."""


@dataclass(frozen=True)
class MonthlyIndex:
    """A price level for every calendar month from the first with sales to the last, relative to the
    valuation date (1.0 there), and the trends that carry it past the last month."""

    months: np.ndarray  # datetime64[M], consecutive
    index: np.ndarray  # price level of each month relative to the valuation date
    sales: np.ndarray  # sales of each month in the regression (0: a month without sales, interpolated)
    monthly_trend: float  # log change per month over the whole index (least squares, weighted by sales)
    recent_trend: float  # the same over the last `trend_months` months: it reaches the valuation date
    r_squared: float
    regressors: int


def months_between(start: np.ndarray, end) -> np.ndarray:
    """Months (of 30.4375 days) from each `start` date to `end`."""
    return (np.datetime64(end, "D") - np.asarray(start).astype("datetime64[D]")).astype(np.float64) / DAYS_PER_MONTH


def hedonic_time_index(
    sales: Mapping[str, np.ndarray], *, valuation_date: datetime.date, trend_months: int
) -> MonthlyIndex:
    """Fit log(price) on a dummy per month and the sales' characteristics (`hedonic_design`); the month
    coefficients are the index. Months without sales take the level interpolated between their neighbours;
    the level at the valuation date is the recent trend's line there (not the last month's own noisy level).

    `sales` holds aligned columns: sale_date, sale_price, living_area, effective_year, land_area_sqft
    (all above 0), neighborhood, class_code, quality, condition.
    """
    months = sales["sale_date"].astype("datetime64[M]")
    labels, month_of_sale = np.unique(months, return_inverse=True)
    if labels.size < 2:
        raise TimeIndexError(f"A time index needs sales in at least two months; they are all in {labels[0]}.")
    design, names = hedonic_design(sales, month_of_sale, labels.size)
    y = np.log(sales["sale_price"])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ coefficients
    spread = float(((y - y.mean()) ** 2).sum())
    if spread == 0.0:
        raise TimeIndexError("Every sale has the same price: there is no market movement to measure.")
    position = (labels - labels[0]).astype(np.int64)  # months since the first, at mid-month
    log_level = np.concatenate([[0.0], coefficients[1 : labels.size]])  # the first month is the reference
    counts = np.bincount(month_of_sale, minlength=labels.size)
    trend = float(np.polyfit(position, log_level, 1, w=np.sqrt(counts))[0])
    recent = position >= position[-1] - trend_months + 1
    if recent.sum() < 2:
        raise TimeIndexError(f"The last {trend_months} months with sales are a single month: no recent trend.")
    recent_trend, recent_intercept = np.polyfit(position[recent], log_level[recent], 1, w=np.sqrt(counts[recent]))
    first_mid = labels[0].astype("datetime64[D]") + 14
    log_at_target = recent_intercept + recent_trend * months_between(first_mid, valuation_date)
    every = np.arange(position[-1] + 1)
    filled = np.zeros(every.size, dtype=np.int64)
    filled[position] = counts
    return MonthlyIndex(
        months=labels[0] + every,
        index=np.exp(np.interp(every, position, log_level) - log_at_target),
        sales=filled,
        monthly_trend=trend,
        recent_trend=float(recent_trend),
        r_squared=1.0 - float(residuals @ residuals) / spread,
        regressors=len(names),
    )


def hedonic_design(
    sales: Mapping[str, np.ndarray], month_of_sale: np.ndarray, month_count: int
) -> tuple[np.ndarray, list[str]]:
    """The design matrix: intercept and month dummies (the first month left out), then the characteristics
    (`characteristics_design`)."""
    n = month_of_sale.size
    months = np.zeros((n, month_count - 1))
    later = month_of_sale > 0
    months[np.flatnonzero(later), month_of_sale[later] - 1] = 1.0
    controls, names, _ = characteristics_design(sales, sales["sale_date"])
    return np.column_stack([np.ones(n), months, controls]), [
        "intercept", *(f"month {i}" for i in range(1, month_count)), *names,
    ]  # fmt: skip


CATEGORIES = ("neighborhood", "class_code", "quality", "condition")
IMPROVED_ONLY = ("quality", "condition")  # vacant land has none: their dummies are 0 for it


NUMERIC_TERMS = ("improved", "log living area", "age", "log land (improved)", "log land (vacant)")


@dataclass(frozen=True)
class Characteristics:
    """Parcels' characteristics as regression terms, compactly: the numeric columns, and for each category the
    dummy column (0-based, among the category's own) each parcel has, if any (`hit`). `design()` spreads the
    dummies out into the full matrix; a prediction needs only each category's coefficient per parcel."""

    numeric: np.ndarray  # (parcels, NUMERIC_TERMS)
    dummies: dict[str, tuple[np.ndarray, np.ndarray]]  # category -> (column among its levels[1:], hit)
    levels: dict[str, np.ndarray]  # category -> its levels (the first is the reference, without a column)

    @property
    def names(self) -> list[str]:
        return [*NUMERIC_TERMS, *(f"{c} {level}" for c in CATEGORIES for level in self.levels[c][1:])]

    def design(self) -> np.ndarray:
        n = self.numeric.shape[0]
        design = np.zeros((n, len(NUMERIC_TERMS) + sum(self.levels[c].size - 1 for c in CATEGORIES)))
        design[:, : len(NUMERIC_TERMS)] = self.numeric
        offset = len(NUMERIC_TERMS)
        for category in CATEGORIES:
            column, hit = self.dummies[category]
            rows = np.flatnonzero(hit)
            design[rows, offset + column[rows]] = 1.0
            offset += self.levels[category].size - 1
        return design

    def category_parts(self, coefficients: np.ndarray) -> dict[str, np.ndarray]:
        """Each category's part of the linear predictor, from the coefficients of `names` (in order)."""
        parts, offset = {}, len(NUMERIC_TERMS)
        for category in CATEGORIES:
            width = self.levels[category].size - 1
            column, hit = self.dummies[category]
            own = coefficients[offset : offset + width]
            parts[category] = np.where(hit, own[np.clip(column, 0, max(width - 1, 0))] if width else 0.0, 0.0)
            offset += width
        return parts


def characteristics_of(
    parcels: Mapping[str, np.ndarray], dates: np.ndarray, levels: Mapping[str, np.ndarray] | None = None
) -> Characteristics:
    """A parcel's characteristics as regression terms, at `dates` (age is counted to each date's year): improved
    or not, log living area, effective age and log land area of improved parcels, log land area of vacant ones,
    and a dummy per level of neighborhood, class, quality and condition (the first level of each left out;
    quality and condition for improved parcels only).

    `levels` (from a fit) fixes each category's levels, so a prediction has the fit's columns; a level the fit
    never saw gets no dummy (it is priced as the reference level: the caller says so).
    """
    improved = np.isfinite(parcels["living_area"]) & (parcels["living_area"] > 0)
    year = np.asarray(dates).astype("datetime64[Y]").astype(np.int64) + 1970
    effective = np.where(np.isfinite(parcels["effective_year"]), parcels["effective_year"], year)
    log_land = np.log(parcels["land_area_sqft"])
    numeric = np.column_stack([
        improved.astype(float),
        np.where(improved, np.log(np.where(improved, parcels["living_area"], 1.0)), 0.0),
        np.where(improved, np.maximum(0, year - effective), 0.0),
        np.where(improved, log_land, 0.0),
        np.where(improved, 0.0, log_land),
    ]) if improved.size else np.empty((0, len(NUMERIC_TERMS)))  # fmt: skip
    used, dummies = {}, {}
    for category in CATEGORIES:
        # Codes compared as fixed-width text (C speed), not as Python strings one by one.
        values = np.asarray(parcels[category]).astype(str)
        known = np.unique(values) if levels is None else np.asarray(levels[category]).astype(str)
        used[category] = known.astype(object)
        position = np.searchsorted(known, values)
        clipped = np.minimum(position, max(known.size - 1, 0))
        hit = (known[clipped] == values) & (position >= 1) if known.size else np.zeros(values.size, dtype=bool)
        if category in IMPROVED_ONLY:
            hit &= improved
        dummies[category] = (clipped - 1, hit)
    return Characteristics(numeric=numeric, dummies=dummies, levels=used)


def characteristics_design(
    parcels: Mapping[str, np.ndarray], dates: np.ndarray, levels: Mapping[str, np.ndarray] | None = None
) -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    """`characteristics_of` as a full design matrix: the columns, their names and the levels used."""
    terms = characteristics_of(parcels, dates, levels)
    return terms.design(), terms.names, terms.levels


def level_at(months: np.ndarray, index: np.ndarray, recent_trend: float, valuation_date, dates: np.ndarray):
    """The index's price level at each of `dates`: its month's level; before the first month, the first's;
    after the last, the recent trend's line (1.0 at the valuation date)."""
    month = np.asarray(dates).astype("datetime64[M]")
    position = np.clip((month - months[0]).astype(np.int64), 0, months.size - 1)
    beyond = np.exp(-recent_trend * months_between(dates, valuation_date))
    return np.where(month > months[-1], beyond, index[position])


@dataclass(frozen=True)
class TimeFactors:
    """Factors that bring a price of any date to `target`: level(target) / level(date), by a monthly index
    (`level_at`) where there is one, else by a constant trend (log change per month). JSON-able, so a job can keep
    the factors it used."""

    target: datetime.date
    trend: float  # the index's recent trend (past its last month), or the whole trend without an index
    months: np.ndarray | None = None  # datetime64[M]
    index: np.ndarray | None = None
    index_date: datetime.date | None = None  # the index's own valuation date (level 1.0 there)
    source: str = ""  # where the factors come from, for the reader

    def __call__(self, dates) -> np.ndarray:
        dates = np.asarray(dates, dtype="datetime64[D]")
        if self.months is None:
            return np.exp(self.trend * months_between(dates, self.target))

        def level(when):
            return level_at(self.months, self.index, self.trend, self.index_date, when)

        return level(np.array([self.target], dtype="datetime64[D]"))[0] / level(dates)

    def as_dict(self) -> dict:
        return {
            "target": str(self.target), "trend": self.trend, "source": self.source,
            "months": None if self.months is None else [str(m) for m in self.months],
            "index": None if self.index is None else [float(i) for i in self.index],
            "index_date": None if self.index_date is None else str(self.index_date),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, kept: Mapping) -> "TimeFactors":
        return cls(
            target=datetime.date.fromisoformat(kept["target"]), trend=kept["trend"], source=kept.get("source", ""),
            months=None if kept["months"] is None else np.array(kept["months"], dtype="datetime64[M]"),
            index=None if kept["index"] is None else np.array(kept["index"]),
            index_date=None if kept["index_date"] is None else datetime.date.fromisoformat(kept["index_date"]),
        )  # fmt: skip
