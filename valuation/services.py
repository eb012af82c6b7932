"""Valuation: train a method on the county's valid sales (judged on a holdout with the ratio statistics), value
parcels with it and store a ValuationResult each; explain any stored value; apply reviewed values to the roll.

A mass appraisal trains once (`valuation_train`: the model and its evidence kept as the job's files) and then
values the parcels in id ranges (`parcels_value`), which workers run in parallel. Every method also fits the
hedonic regression: it is the land model (a parcel's land is priced as a vacant lot of its size and place) and
it gives comparable sales their adjustment rates.
"""

import csv
import datetime
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from django.core.files.storage import default_storage
from django.db import transaction

from counties.models import County
from market_analysis import stats
from market_analysis.selectors import SalesColumns, time_index_current, valid_sales
from market_analysis.services import time_factors_of, valuation_date
from market_analysis.time_index import CATEGORIES, TimeFactors
from properties.choices import ActorKind, Condition, Quality, ValueSource
from properties.geometry import projected_metres
from properties.services import Actor, columns_copy, property_values_apply
from terrafusion.jobs.models import JobStatus, JobStopped
from valuation import comparables as comps
from valuation.choices import ValuationMethod
from valuation.gbm import FEATURES, GbmError, GbmModel, gbm_contributions, gbm_dump, gbm_fit, gbm_load, gbm_predict
from valuation.hedonic import HedonicError, HedonicModel, hedonic_fit, hedonic_predict, hedonic_unseen
from valuation.models import ValuationJob, ValuationResult
from valuation.selectors import parcels_to_value

SALE_YEARS = 5  # default training window: the five years of sales before the valuation date
LAND_SHARE_MAX = 0.8  # an improved parcel's land is at most this share of its value
NOT_VALUED_LISTED = 1000  # parcels not valued: each listed with its reason up to this many (all are counted)
ORDINAL = {"quality": list(Quality.values), "condition": list(Condition.values)}


class ValuationError(ValueError):
    """The valuation cannot run as asked on this county's data; the message says why."""


@dataclass(frozen=True)
class Fitted:
    """A trained method: what values a parcel. `hedonic` always (land, and the comparables' rates)."""

    method: str
    hedonic: HedonicModel
    time: TimeFactors
    gbm: GbmModel | None = None
    comparables: comps.ComparableSet | None = None


@dataclass(frozen=True)
class Estimate:
    value: np.ndarray  # NaN: not valued (no comparables)
    low: np.ndarray
    high: np.ndarray
    unseen: np.ndarray  # bool: a category the hedonic fit never saw (priced at its reference level)
    comparables: comps.ComparablesEstimate | None = None


def _required(columns: SalesColumns, method: str) -> np.ndarray:
    """Why each row cannot be valued by the method ("" if it can): a land area is always needed, an effective year
    for improved parcels, a location for comparable sales."""
    land = columns["land_area_sqft"]
    improved = np.isfinite(columns["living_area"]) & (columns["living_area"] > 0)
    reason = np.full(len(columns), "", dtype=object)
    if method == ValuationMethod.COMPARABLE_SALES:
        reason[~(np.isfinite(columns["x"]) & np.isfinite(columns["y"]))] = "no location"
    reason[improved & ~np.isfinite(columns["effective_year"])] = "no effective year"
    reason[~(np.isfinite(land) & (land > 0))] = "no land area"
    return reason


def _located(county: County, columns: SalesColumns) -> SalesColumns:
    """The columns with x and y: the latitude and longitude in the county's projected CRS (metres)."""
    x, y = projected_metres(columns["latitude"], columns["longitude"], county.settings.get("local_crs_epsg", 2927))
    return SalesColumns({**columns.columns, "x": x, "y": y})


def _county_time_factors(county: County, target: datetime.date, model: HedonicModel) -> TimeFactors:
    """The county's time-adjustment factors to the valuation date: its newest time index where it has one, else the
    hedonic regression's monthly trend."""
    index = time_index_current(county=county)
    if index is not None:
        return time_factors_of(index, target)
    trend = model.effects()["months to the valuation date"]
    return TimeFactors(target=target, trend=trend, source="the hedonic regression's trend (no stored time index)")


# -- training ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Training:
    fitted: Fitted
    summary: dict  # what the job reports of the training: sales, holdout statistics, effects or importances
    holdout_csv: bytes


def valuation_train(*, county: County, parameters: Mapping) -> Training:
    """Train the method on the valid sales in scope, holding out a seeded share to judge it by the ratio
    statistics (overall and per neighborhood)."""
    method = parameters["method"]
    roll_year = parameters["roll_year"]
    target = valuation_date(county, roll_year)
    date_to = parameters.get("sale_date_to") or target - datetime.timedelta(days=1)
    date_from = parameters.get("sale_date_from") or datetime.date(date_to.year - SALE_YEARS + 1, 1, 1)
    neighborhoods = parameters.get("neighborhoods") or None
    sales = _located(
        county, valid_sales(county=county, date_from=date_from, date_to=date_to, characteristics=True, location=True)
    )
    if neighborhoods:
        sales = sales.take(np.isin(sales["neighborhood"], neighborhoods))
    sales = sales.take((_required(sales, method) == "") & (sales["sale_price"] > 0))
    if not len(sales):
        raise ValuationError(
            f"{county.name} has no valid sales with a land area"
            + (" and a location" if method == ValuationMethod.COMPARABLE_SALES else "")
            + f" from {date_from} to {date_to}"
            + (f" in neighborhoods {', '.join(neighborhoods)}" if neighborhoods else "")
            + ": there is nothing to train a model on."
        )
    seed = parameters.get("seed", 0)
    holdout = np.random.default_rng(seed).random(len(sales)) < parameters.get("holdout_share", 0.0)
    train, test = sales.take(~holdout), sales.take(holdout)
    fitted = _fit(method, train, target=target, county=county, seed=seed)
    if fitted.gbm is not None and len(test) >= stats.MIN_SALES:  # the ranges' width from sales it did not see
        log_error = np.log(test["sale_price"]) - np.log(gbm_predict(fitted.gbm, test.columns, test["sale_date"]).value)
        fitted = replace(fitted, gbm=replace(fitted.gbm, residual_sd=float(np.sqrt(np.mean(log_error**2)))))

    checked = predict(fitted, test, dates=test["sale_date"])
    judged = np.isfinite(checked.value)
    study = stats.stratified_study(
        checked.value[judged], test["sale_price"][judged], test["neighborhood"][judged], resamples=0, seed=seed
    ) if judged.sum() >= stats.MIN_SALES else None  # fmt: skip
    summary = {
        "method": method,
        "county": county.slug,
        "roll_year": roll_year,
        "valuation_date": str(target),
        "sale_dates": [str(date_from), str(date_to)],
        "neighborhoods": neighborhoods,
        "time_adjustment": {"source": fitted.time.source, "monthly_trend": fitted.time.trend},
        "sales": {"training": len(train), "holdout": len(test), "holdout_valued": int(judged.sum())},
        "holdout": None if study is None else {"overall": study["overall"], "by_neighborhood": study["strata"]},
        "residual_sd": fitted.hedonic.residual_sd if fitted.gbm is None else fitted.gbm.residual_sd,
        **_model_report(fitted),
    }
    return Training(fitted=fitted, summary=summary, holdout_csv=_holdout_csv(test, checked.value))


def _fit(method: str, train: SalesColumns, *, target: datetime.date, county: County, seed: int) -> Fitted:
    try:
        hedonic = hedonic_fit(train.columns, valuation_date=target)
        time = _county_time_factors(county, target, hedonic)
        if method == ValuationMethod.GBM:
            gbm = gbm_fit(train.columns, valuation_date=target, ordinal=ORDINAL, seed=seed)
            return Fitted(method=method, hedonic=hedonic, time=time, gbm=gbm)
        if method == ValuationMethod.COMPARABLE_SALES:
            kept = {name: train[name] for name in (*comps.SHOWN_COLUMNS, *comps.ATTRIBUTES, "x", "y")}
            comparables = comps.comparable_set(hedonic, kept, time(train["sale_date"]))
            return Fitted(method=method, hedonic=hedonic, time=time, comparables=comparables)
        return Fitted(method=method, hedonic=hedonic, time=time)
    except (HedonicError, GbmError, comps.ComparablesError) as exc:
        raise ValuationError(f"{county.name}: {exc}") from None


def _model_report(fitted: Fitted) -> dict:
    if fitted.gbm is not None:
        return {"feature_importances": fitted.gbm.importances()}
    report = {"effects": fitted.hedonic.effects()}
    if fitted.comparables is not None:
        report["comparables"] = {
            "sales": len(fitted.comparables), "per_parcel": comps.COMPARABLES, "candidates": comps.CANDIDATES,
            "adjustment_rates": "the hedonic effects (log price per unit of each characteristic)",
        }  # fmt: skip
    return report


def _holdout_csv(test: SalesColumns, estimates: np.ndarray) -> bytes:
    """The held-out sales with their estimates and ratios, a column at a time (no Python per sale)."""
    header = "sale_id,property,parcel_number,neighborhood,sale_date,sale_price,estimate,ratio\r\n"
    if not len(test):
        return header.encode()
    known = np.isfinite(estimates)
    with np.errstate(invalid="ignore"):
        ratio = np.where(known, np.char.mod("%.4f", estimates / test["sale_price"]), "")
    columns = [
        test["sale_id"].astype(str), test["property"].astype(str), _csv_text(test["parcel_number"]),
        _csv_text(test["neighborhood"]), test["sale_date"].astype(str), test["sale_price"].astype(np.int64).astype(str),
        np.where(known, np.round(np.nan_to_num(estimates)).astype(np.int64).astype(str), ""), ratio,
    ]  # fmt: skip
    line = columns[0].astype(object)
    for column in columns[1:]:
        line = line + ("," + column.astype(object))
    return (header + "\r\n".join(line.tolist()) + "\r\n").encode()


def _csv_text(values: np.ndarray) -> np.ndarray:
    """Text quoted as CSV where it must be (a comma, quote or line break in it)."""
    text = values.astype(str)
    special = np.char.find(text, ",") >= 0
    for mark in ('"', "\n", "\r"):
        special |= np.char.find(text, mark) >= 0
    quoted = np.char.add(np.char.add('"', np.char.replace(text, '"', '""')), '"')
    return np.where(special, quoted, text)


def holdout_read(job: ValuationJob) -> dict[str, np.ndarray]:
    """The job's holdout.csv as columns: property, sale_date, sale_price, estimate (NaN: not valued)."""
    rows = list(csv.DictReader(io.StringIO(_read(job, "holdout.csv").decode())))
    return {
        "property": np.array([int(r["property"]) for r in rows], dtype=np.int64),
        "sale_date": np.array([r["sale_date"] for r in rows], dtype="datetime64[D]"),
        "sale_price": np.array([float(r["sale_price"]) for r in rows]),
        "estimate": np.array([float(r["estimate"] or "nan") for r in rows]),
    }


# -- prediction -------------------------------------------------------------------------------------------------


def predict(fitted: Fitted, parcels: SalesColumns, dates=None) -> Estimate:
    """Estimates of parcels (columns as `parcels_to_value` gives them, with x and y) at `dates` (default: the
    valuation date)."""
    unseen = hedonic_unseen(fitted.hedonic, parcels.columns)
    if fitted.gbm is not None:
        estimate = gbm_predict(fitted.gbm, parcels.columns, dates)
        return Estimate(value=estimate.value, low=estimate.low, high=estimate.high, unseen=unseen)
    if fitted.comparables is not None:
        subjects = {**parcels.columns, "id": parcels["property"] if "property" in parcels.columns else parcels["id"]}
        # The subject as of each date (a held-out sale: when it sold), its value at the valuation date brought back.
        found = comps.comparables_estimate(
            fitted.comparables, subjects, comps.adjustment_parts(fitted.hedonic, parcels.columns, dates)
        )
        back = 1.0 if dates is None else 1.0 / fitted.time(dates)  # from the valuation date to each date
        return Estimate(
            value=found.value * back, low=found.low * back, high=found.high * back, unseen=unseen, comparables=found
        )
    hedonic = hedonic_predict(fitted.hedonic, parcels.columns, dates, contributions=False)
    return Estimate(value=hedonic.value, low=hedonic.low, high=hedonic.high, unseen=unseen)


def land_values(model: HedonicModel, parcels: SalesColumns, values: np.ndarray) -> np.ndarray:
    """Land: the hedonic model's price of the same lot as vacant land (the class most vacant sales have), at most
    80% of an improved parcel's value; all of a vacant parcel's value. Without vacant-land sales to price land
    by, an improved parcel's land keeps its current share of its value (the median share where it has none)."""
    improved = np.isfinite(parcels["living_area"]) & (parcels["living_area"] > 0)
    vacant_class = model.vacant_class
    if vacant_class is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            share = parcels["land_value"] / parcels["market_value"]
        known = np.isfinite(share) & (share > 0) & (share < 1) & improved
        typical = float(np.median(share[known])) if known.any() else 0.0
        return np.where(improved, values * np.where(known, share, typical), values)
    n = len(parcels)
    as_vacant = {
        **parcels.columns,
        "living_area": np.full(n, np.nan),
        "quality": np.full(n, "", dtype=object),
        "condition": np.full(n, "", dtype=object),
        "class_code": np.full(n, vacant_class, dtype=object),
    }
    land = hedonic_predict(model, as_vacant, contributions=False).value
    return np.where(improved, np.minimum(land, LAND_SHARE_MAX * values), values)


def parcels_value(
    *, county: County, job: ValuationJob, fitted: Fitted, roll_year: int, parcels: SalesColumns,
    id_range: tuple[int, int] | None = None,
) -> dict:  # fmt: skip
    """Value parcels (those of `id_range`, when a part of a job) and store their results, all or none, and only
    while the job is still going (a cancelled job's parts write nothing). Returns the counts and the parcels not
    valued with the reason."""
    parcels = _located(county, parcels)
    reason = _required(parcels, fitted.method)
    usable = reason == ""
    # Codes as fixed-width text once: every model compares them many times, at C speed that way.
    valued = SalesColumns(
        {name: c.astype(str) if name in CATEGORIES else c for name, c in parcels.take(usable).columns.items()}
    )
    estimate = predict(fitted, valued)
    found = np.isfinite(estimate.value)
    reason[np.flatnonzero(usable)[~found]] = "no comparables"
    land = land_values(fitted.hedonic, valued, np.where(found, estimate.value, 0.0))
    keep = np.flatnonzero(found)
    with transaction.atomic():
        if not job.lock_if_going():
            raise JobStopped(f"The job is {job.status}: its results are not stored.")
        if id_range is not None:  # a part run twice (RQ delivers at least once) replaces its own results
            ValuationResult.objects.filter(
                county=county, job=job, property_id__gte=id_range[0], property_id__lte=id_range[1]
            ).delete()
        _store(county=county, job=job, roll_year=roll_year, method=fitted.method, parcels=valued.take(keep),
               estimate=estimate, rows=keep, land=land[keep])  # fmt: skip
    missing = np.flatnonzero(reason != "")
    names, counts = np.unique(reason[missing], return_counts=True)
    return {
        "valued": int(found.sum()),
        "not_valued": int(missing.size),
        "not_valued_by_reason": {str(k): int(c) for k, c in zip(names, counts, strict=True)},
        "not_valued_listed": [
            {"property": int(parcels["id"][i]), "reason": str(reason[i])} for i in missing[:NOT_VALUED_LISTED]
        ],
        "valued_at_a_reference_level": int(estimate.unseen[found].sum()),
    }


def _store(*, county, job, roll_year, method, parcels: SalesColumns, estimate: Estimate, rows, land) -> None:
    """The results, in one COPY laid out by numpy (`properties.services.columns_copy`)."""
    from django.utils import timezone

    value = np.round(estimate.value[rows]).astype(np.int64)
    land_value = np.minimum(np.round(land).astype(np.int64), value)
    current = parcels["market_value"]
    known = np.isfinite(current) & (current > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        change = np.where(known, value / np.where(known, current, 1.0) - 1.0, np.nan)
    columns_copy(
        ValuationResult,
        {
            "county": county.pk, "job": job.pk, "property": parcels["id"], "roll_year": roll_year, "method": method,
            "estimate": value, "land_value": land_value, "improvement_value": value - land_value,
            "low": np.round(estimate.low[rows]).astype(np.int64),
            "high": np.round(estimate.high[rows]).astype(np.int64),
            "current_value": np.ma.masked_invalid(current).astype(np.int64), "change": change,
            "created_at": timezone.now(),
        },
        rows=len(value),
    )  # fmt: skip


# -- a whole appraisal in one piece (one worker), and the parts' summary --------------------------------------


def mass_appraisal(*, county: County, job: ValuationJob, parameters: Mapping) -> tuple[dict, list["KeptFile"]]:
    """Train and value every parcel in scope in one piece: the summary and the files to keep with the job."""
    one = parameters.get("property")
    parcels = parcels_to_value(
        county=county, neighborhoods=parameters.get("neighborhoods") or None, ids=[one] if one else None
    )
    if one and not len(parcels):
        raise ValuationError(f"Property {one} is not an active real property of {county.name}.")
    training = valuation_train(county=county, parameters=parameters)
    counts = parcels_value(
        county=county, job=job, fitted=training.fitted, roll_year=parameters["roll_year"], parcels=parcels
    )
    summary = appraisal_summary(training.summary, [counts])
    if one:
        summary["property"] = one
        summary["explanation"] = explain_parcels(training.fitted, _located(county, parcels))[0]
    return summary, training_files(training)


def appraisal_summary(training: dict, parts: list[dict]) -> dict:
    listed = [entry for part in parts for entry in part["not_valued_listed"]][:NOT_VALUED_LISTED]
    reasons: dict[str, int] = {}
    for part in parts:
        for name, count in part["not_valued_by_reason"].items():
            reasons[name] = reasons.get(name, 0) + count
    return {
        **training,
        "parcels": {
            "valued": sum(p["valued"] for p in parts),
            "not_valued": sum(p["not_valued"] for p in parts),
            "not_valued_by_reason": reasons,
            "valued_at_a_reference_level": sum(p["valued_at_a_reference_level"] for p in parts),
        },
        "not_valued": listed,
    }


# -- the kept model ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeptFile:
    name: str
    content: bytes
    title: str
    content_type: str = ""


def training_files(training: Training) -> list[KeptFile]:
    """The fitted model as files kept with the job: model.json (the hedonic model, time factors and the training
    summary), and the method's own: the LightGBM trees, or the sales the comparables come from."""
    fitted = training.fitted
    kept = {
        "method": fitted.method,
        "hedonic": hedonic_json(fitted.hedonic),
        "time_factors": fitted.time.as_dict(),
        "training": training.summary,
    }
    files = []
    if fitted.gbm is not None:
        kept["gbm"], trees = gbm_dump(fitted.gbm)
        files.append(KeptFile("gbm-model.txt", trees.encode(), "The gradient-boosted trees (LightGBM)", "text/plain"))
    if fitted.comparables is not None:
        buffer = io.BytesIO()
        sales = fitted.comparables.sales
        # Uncompressed, with the adjustment parts: every part of the job loads it, and none recomputes them.
        np.savez(buffer, time_factor=fitted.comparables.time_factor, adjustment_parts=fitted.comparables.parts,
                 **{name: _storable(column) for name, column in sales.items()})  # fmt: skip
        files.append(KeptFile("comparable-sales.npz", buffer.getvalue(), "The sales comparables are drawn from"))
    return [
        KeptFile("model.json", json.dumps(kept).encode(), "The fitted model (JSON)"),
        *files,
        KeptFile("holdout.csv", training.holdout_csv, "Holdout sales with their estimates and ratios (CSV)"),
    ]


def _storable(column: np.ndarray) -> np.ndarray:
    return column.astype(str) if column.dtype == object else column


def fitted_load(job: ValuationJob, *, grids: bool = False) -> Fitted:
    """The fitted model kept with the job. Comparable sales load only what the search needs, unless `grids`
    (an explanation shows each sale's ids and characteristics)."""
    kept = json.loads(_read(job, "model.json"))
    hedonic = hedonic_load(kept["hedonic"])
    fitted = Fitted(method=kept["method"], hedonic=hedonic, time=TimeFactors.from_dict(kept["time_factors"]))
    if "gbm" in kept:
        fitted = replace(fitted, gbm=gbm_load(kept["gbm"], _read(job, "gbm-model.txt").decode()))
    if fitted.method == ValuationMethod.COMPARABLE_SALES:
        with np.load(io.BytesIO(_read(job, "comparable-sales.npz"))) as stored:  # arrays load as they are read
            names = [n for n in stored.files if n not in ("time_factor", "adjustment_parts")]
            if not grids:
                names = [n for n in names if n in comps.SEARCH_COLUMNS]
            sales = {name: stored[name] for name in names}
            sales = {name: c.astype(object) if c.dtype.kind == "U" else c for name, c in sales.items()}
            comparables = comps.comparable_set(hedonic, sales, stored["time_factor"], parts=stored["adjustment_parts"])
            fitted = replace(fitted, comparables=comparables)
    return fitted


def training_summary(job: ValuationJob) -> dict:
    """What the job's training reported (kept in its model.json)."""
    return json.loads(_read(job, "model.json"))["training"]


def _read(job: ValuationJob, name: str) -> bytes:
    entry = job.file(name)
    if entry is None:
        raise ValuationError(f"Job {job.pk} kept no {name}: its model cannot be loaded.")
    with default_storage.open(entry["path"], "rb") as handle:
        return handle.read()


def hedonic_json(model: HedonicModel) -> dict:
    """The fitted hedonic model as JSON: enough to explain (or recompute) any of its estimates."""
    return {
        "valuation_date": str(model.valuation_date),
        "terms": model.terms,
        "coefficients": [float(c) for c in model.coefficients],
        "levels": {name: [str(level) for level in levels] for name, levels in model.levels.items()},
        "residual_sd": model.residual_sd,
        "sales": model.sales,
        "vacant_class": model.vacant_class,
    }


def hedonic_load(kept: Mapping) -> HedonicModel:
    return HedonicModel(
        terms=kept["terms"],
        coefficients=np.array(kept["coefficients"]),
        levels={name: np.array(levels, dtype=object) for name, levels in kept["levels"].items()},
        valuation_date=datetime.date.fromisoformat(kept["valuation_date"]),
        residual_sd=kept["residual_sd"],
        sales=kept["sales"],
        vacant_class=kept["vacant_class"],
    )


# -- explanations -----------------------------------------------------------------------------------------------


def explain_parcels(fitted: Fitted, parcels: SalesColumns) -> list[dict]:
    """Why each parcel (columns with x and y) has its value by the fitted method: the hedonic terms' contributions,
    LightGBM's per-feature contributions, or the comparables grid. Contributions are in log dollars and add up
    (with the base) to the log of the value; each is also shown as a factor and in dollars, applied in order."""
    if fitted.comparables is not None:
        found = predict(fitted, parcels).comparables
        return [
            {"method": fitted.method, **comps.comparables_grid(fitted.comparables, found, row, parcels.columns)}
            for row in range(len(parcels))
        ]
    if fitted.gbm is not None:
        contributions, base = gbm_contributions(fitted.gbm, parcels.columns)
        estimate = gbm_predict(fitted.gbm, parcels.columns)
        names = ["base value", *FEATURES]
        parts = np.column_stack([base, contributions])
    else:
        estimate = hedonic_predict(fitted.hedonic, parcels.columns)
        names, parts = fitted.hedonic.terms, estimate.contributions
    explained = []
    for row in range(len(parcels)):
        # The first term is the base in dollars; each next one multiplies it, its dollars the change of the rounded
        # running value (they add up to the value exactly).
        lines, running = [], 0.0
        for name, part in zip(names, parts[row], strict=True):
            if part == 0.0:
                continue
            factor = float(np.exp(part))
            after = factor * (running or 1.0)
            lines.append({"term": name, "log_contribution": round(float(part), 6), "factor": round(factor, 6),
                          "amount": round(after) - round(running)})  # fmt: skip
            running = after
        explained.append({
            "method": fitted.method, "value": round(float(estimate.value[row])),
            "low": round(float(estimate.low[row])), "high": round(float(estimate.high[row])),
            "valuation_date": str(fitted.hedonic.valuation_date),
            "contributions": lines, "log_value": round(float(parts[row].sum()), 6),
        })  # fmt: skip
    return explained


def result_explain(result: ValuationResult) -> dict:
    """Why a stored result has its value, from the model kept with its job (computed now)."""
    fitted = fitted_load(result.job, grids=True)
    parcels = parcels_to_value(county=result.county, ids=[result.property_id], active_only=False)
    if not len(parcels):
        raise ValuationError(f"Property {result.property_id} is no longer a real property of the county.")
    explained = explain_parcels(fitted, _located(result.county, parcels))[0]
    return {"result": result.pk, "property": result.property_id, "estimate": result.estimate, **explained}


# -- review and apply -------------------------------------------------------------------------------------------


class ApplyRefused(ValueError):
    """The results cannot be applied as asked; the message says why."""


@transaction.atomic
def valuation_apply(*, job: ValuationJob, results, user, overwrite_certified: bool = False) -> dict:
    """Apply reviewed results of a completed job (`results`: a queryset of its ValuationResults, all or filtered) as
    the parcels' `valuation` values of its roll year and their current values, through the properties' one write
    path, audited in the user's and the job's name. A certified roll year is changed only with
    `overwrite_certified`; applying the same results twice changes nothing the second time."""
    if job.status != JobStatus.COMPLETED:
        raise ApplyRefused(f"The job is {job.status}: only a completed valuation's results can be applied.")
    county = job.county
    roll_year = job.result["roll_year"]
    if county.certified_roll_year is not None and roll_year <= county.certified_roll_year and not overwrite_certified:
        raise ApplyRefused(
            f"{county.name}'s {roll_year} roll is certified (certified through {county.certified_roll_year}): its "
            "values change only with overwrite_certified."
        )
    values = list(results.order_by("property_id").values_list("property_id", "land_value", "improvement_value"))
    actor = Actor(kind=ActorKind.USER, user=user, job_id=job.pk, source=f"valuation job {job.pk} applied")
    applied = property_values_apply(
        county=county, roll_year=roll_year, values=values, source=ValueSource.VALUATION, actor=actor,
        overwrite_certified=overwrite_certified,
    )  # fmt: skip
    return {"job": str(job.pk), "roll_year": roll_year, "results": len(values), **applied.as_dict()}
