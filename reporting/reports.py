"""The reports: each builds a Document (reporting/documents.py) from what is stored and analysed, and its summary
for the job's result. The assessment roll streams its rows (Arrow batches); the others are a county's figures,
small enough to compute at once."""

import csv
import datetime
import io
import itertools
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
from django.conf import settings
from django.db.models import Count, F, FilteredRelation, Q, Sum

from counties.models import County
from market_analysis import charts
from market_analysis.selectors import valid_sales
from market_analysis.services import neighborhood_summary, ratio_study, study_window
from properties.models import Property
from reporting.choices import ReportType
from reporting.documents import (
    FLOAT,
    INT,
    MONEY,
    RATIO,
    SHARE,
    TEXT,
    Chart,
    Col,
    Document,
    PageBreak,
    Table,
    Text,
    csv_rows_write,
)
from reporting.services import county_summary_build, county_summary_groups
from terrafusion.arrow import Column, query_batches

VALUES = ("land_value", "improvement_value", "market_value", "assessed_value")
LARGEST_CHANGES = 50
CHANGE_BINS = [-np.inf, -0.10, -0.05, 0.0, 0.05, 0.10, 0.20, np.inf]
CHANGE_LABELS = ["under -10%", "-10% to -5%", "-5% to 0", "0 to 5%", "5% to 10%", "10% to 20%", "over 20%"]


def _title_parameters(parameters: Mapping) -> dict:
    shown = {"Report": ReportType(parameters["report_type"]).label, "Roll year": parameters["roll_year"],
             "Values from": parameters["value_source"], "Format": parameters["format"]}  # fmt: skip
    for name, value in (parameters.get("study") or {}).items():
        shown[f"Study: {name.replace('_', ' ')}"] = value
    return shown


def _with_year(parcels, roll_year: int, source: str, name: str = "year"):
    """The parcels with their values of a roll year from a source joined as `name` (one row at most: the key)."""
    return parcels.annotate(**{name: FilteredRelation("values", condition=Q(values__roll_year=roll_year,
                                                                              values__source=source))})  # fmt: skip


# -- the assessment roll ----------------------------------------------------------------------------------------

ROLL_COLUMNS = [
    Col("parcel_number", "Parcel number", width=16), Col("owner_name", "Owner", width=28),
    Col("owner_address", "Mailing address", width=36), Col("situs_address", "Situs address", width=28),
    Col("situs_city", "Situs city", width=14), Col("legal_description", "Legal description", width=40),
    Col("use_code", "Use code", width=8), Col("neighborhood", "Neighborhood", width=12),
    *(Col(name, name.replace("_", " ").capitalize(), MONEY) for name in VALUES),
    Col("exemptions", "Exemptions", width=18),
]  # fmt: skip


def _roll_parcels(county: County, parameters: Mapping):
    return _with_year(Property.objects.filter(county=county, is_active=True), parameters["roll_year"],
                      parameters["value_source"])  # fmt: skip


def _roll_batches(parcels):
    expressions = [
        F("parcel_number"), F("owner_name"), F("owner_address"), F("situs_address"), F("situs_city"),
        F("legal_description"), F("class_code"), F("neighborhood__code"), *(F(f"year__{name}") for name in VALUES),
        F("exemptions"),
    ]  # fmt: skip
    columns = [
        Column(c.name, e, pa.int64() if c.kind == MONEY else pa.string())
        for c, e in zip(ROLL_COLUMNS, expressions, strict=True)
    ]
    return query_batches(parcels.order_by("parcel_number", "id"), columns, settings.REPORT_BATCH_ROWS)


def roll_parts(county: County, parameters: Mapping, rows: int) -> list[list[str | None]]:
    """The roll cut into ranges of parcel numbers of about `rows` parcels ([low, high), None: open), for workers to
    write in parallel: every `rows`-th parcel number in order (an OFFSET query each)."""
    active = Property.objects.filter(county=county, is_active=True).order_by("parcel_number")
    total = active.count()
    numbers = [active.values_list("parcel_number", flat=True)[offset] for offset in range(rows, total, rows)]
    edges = [None, *dict.fromkeys(numbers), None]
    return [[low, high] for low, high in itertools.pairwise(edges)]


def roll_part_csv(county: County, parameters: Mapping, part: list[str | None], path) -> int:
    """The roll's rows whose parcel number is in the part's range, as CSV lines (no header); how many."""
    parcels = _roll_parcels(county, parameters)
    low, high = part
    if low is not None:
        parcels = parcels.filter(parcel_number__gte=low)
    if high is not None:
        parcels = parcels.filter(parcel_number__lt=high)
    return csv_rows_write(_roll_batches(parcels), path)


def assessment_roll(county: County, parameters: Mapping, written_parts: list | None = None) -> tuple[Document, dict]:
    """The roll, its rows streamed from the database, or (`written_parts`) already written as CSV by the job's
    parts, in order."""
    roll_year = parameters["roll_year"]
    parcels = _roll_parcels(county, parameters)
    batches = None if written_parts is not None else _roll_batches(parcels)
    totals = {name: Sum(f"year__{name}") for name in VALUES}
    by_use = list(parcels.values("class_code").annotate(parcels=Count("id"), **totals).order_by("class_code"))
    by_hood = list(
        parcels.values("neighborhood__code").annotate(parcels=Count("id"), **totals).order_by("neighborhood__code")
    )
    total_columns = [Col("parcels", "Parcels", INT), *(Col(n, n.replace("_", " ").capitalize(), MONEY) for n in VALUES)]

    def total_rows(rows, key):
        return [(row[key] or "", row["parcels"], *(row[name] for name in VALUES)) for row in rows]

    count = sum(row["parcels"] for row in by_use)
    summary = {
        "parcels": count,
        "totals": {name: sum(row[name] or 0 for row in by_use) for name in VALUES},
        "use_codes": len(by_use),
        "neighborhoods": len(by_hood),
    }
    document = Document(
        title=f"Assessment roll {roll_year}", county=county.name, parameters=_title_parameters(parameters),
        sections=[
            Table(f"Assessment roll {roll_year}: {count:,} active parcels, by parcel number", ROLL_COLUMNS,
                  batches=batches, csv_parts=written_parts, sheet="Roll"),
            Table("Totals by use code", [Col("use_code", "Use code"), *total_columns], total_rows(by_use, "class_code"),
                  sheet="By use code"),
            Table("Totals by neighborhood", [Col("neighborhood", "Neighborhood"), *total_columns],
                  total_rows(by_hood, "neighborhood__code"), sheet="By neighborhood"),
        ],
    )  # fmt: skip
    return document, summary


# -- the county summary -----------------------------------------------------------------------------------------


def county_summary(county: County, parameters: Mapping, groups: list[dict] | None = None) -> tuple[Document, dict]:
    """The summary of `groups` (the job's parts' rows), or of the whole county read at once."""
    groups = county_summary_groups(county=county) if groups is None else groups
    summary = county_summary_build(county=county, groups=groups)
    columns = [Col("neighborhood"), Col("neighborhood_name", "Name"), Col("class_code", "Class"),
               Col("parcels", kind=INT), Col("parcels_with_values", "With values", INT),
               *(Col(name, kind=MONEY) for name in VALUES)]  # fmt: skip
    rows = sorted((tuple(g[c.name] for c in columns) for g in groups), key=lambda row: (row[0], row[2]))
    shown = {"Report": ReportType.COUNTY_SUMMARY.label, "Values": "each parcel's current values", "Format":
             parameters["format"]}  # fmt: skip
    document = Document(
        title="County summary", county=county.name, parameters=shown,
        sections=[Table("Parcels and values by neighborhood and class", columns, rows,
                        sheet="Summary")],
    )  # fmt: skip
    return document, summary


# -- the ratio study ---------------------------------------------------------------------------------------------

STUDY_COLUMNS = [
    Col("stratum", "Stratum"), Col("n", "Sales", INT), Col("median", "Median", RATIO),
    Col("median_ci", "Median CI"), Col("cod", "COD", FLOAT), Col("cod_ci", "COD CI"), Col("prd", "PRD", RATIO),
    Col("prd_ci", "PRD CI"), Col("prb", "PRB", RATIO), Col("prb_ci", "PRB CI"), Col("verdict", "IAAO", width=30),
]  # fmt: skip


SALE_KINDS = {"sale_price": MONEY, "study_price": MONEY, "value": MONEY, "ratio": RATIO, "property_id": INT}


def _number(cell: str):
    """A cell of the study's sales CSV: a number where it is one (so the XLSX can add it up), else the text."""
    try:
        return int(cell)
    except ValueError:
        try:
            return float(cell) if cell and cell[0] in "-0123456789." else cell or None
        except ValueError:
            return cell


def _interval(entry: dict, name: str, places: int) -> str:
    low, high = (entry.get("ci") or {}).get(name) or (None, None)
    return "" if low is None else f"{low:.{places}f} - {high:.{places}f}"


def study_failures(entry: dict) -> list[str] | None:
    """The IAAO standards a study's entry (overall or a stratum) fails, by name; None when its sample is too small
    to judge. One verdict for the report and the dashboard."""
    if entry.get("sample_too_small"):
        return None
    standards = entry.get("standards") or {}
    return [name.upper() for name in ("median", "cod", "prd", "prb", "vei") if standards.get(name) is False]


def _verdict(entry: dict) -> str:
    failed = study_failures(entry)
    return "sample too small" if failed is None else "pass" if not failed else "fail: " + ", ".join(failed)


def _study_row(entry: dict) -> tuple:
    return (
        entry["stratum"], entry["n"], entry.get("median"), _interval(entry, "median", 3), entry.get("cod"),
        _interval(entry, "cod", 1), entry.get("prd"), _interval(entry, "prd", 3), entry.get("prb"),
        _interval(entry, "prb", 3), _verdict(entry),
    )  # fmt: skip


def ratio_study_report(county: County, parameters: Mapping) -> tuple[Document, dict]:
    study_parameters = {**parameters["study"], "roll_year": parameters["roll_year"],
                        "value_source": parameters["value_source"]}  # fmt: skip
    summary, files = ratio_study(county=county, parameters=study_parameters)
    overall = summary["overall"]
    limits = (overall.get("standards") or {}).get("limits", {})
    sales = summary["sales"]
    method = (
        f"Assessment-to-sale ratios of the {sales['used']:,} valid sales from {summary['sale_dates'][0]} to "
        f"{summary['sale_dates'][1]} against the {summary['value_source']} values of roll year {summary['roll_year']}, "
        f"stratified by {summary['stratify_by']}; {summary['confidence']:.0%} intervals from {summary['resamples']:,} "
        f"bootstrap resamples (seed {summary['seed']}), PRB's from its regression. Trimming: "
        f"{summary['trimming']['method']} ({summary['trimming'].get('trimmed', 0)} sales). IAAO standards: median "
        f"{limits.get('median')}, COD at most {limits.get('cod_max')} (by the stratum's class), "
        f"PRD {limits.get('prd')}, PRB {limits.get('prb')}; at least {limits.get('min_sales')} sales a stratum. "
        + ("Prices time-adjusted to the valuation date. " if summary.get("time_adjustment") else "")
        + ("Washington's rules (WAC 458-53). " if summary.get("washington_rules") else "")
    )
    header, *sale_lines = csv.reader(io.StringIO(next(f for f in files if f.name == "sales.csv").content.decode()))
    status = header.index("status")
    sale_rows = [tuple(_number(cell) for cell in line) for line in sale_lines if line[status] == "used"]
    sale_columns = [Col(name, kind=SALE_KINDS.get(name, TEXT)) for name in header]
    set_aside = [(s["sale_id"], s["parcel_number"], s["status"], s["ratio"], s["reason"]) for s in summary["set_aside"]]
    sections = [
        Text("Method", heading=True), Text(method),
        Table("Overall", STUDY_COLUMNS, [_study_row(overall)], sheet="Overall"),
        Table(f"By {summary['stratify_by'].replace('_', ' ')}", STUDY_COLUMNS,
              [_study_row(entry) for entry in summary["strata"]], sheet="Strata"),
        PageBreak(),
        *(Chart(f.title, f.content) for f in files if f.name.endswith(".png")),
        PageBreak(),
        Table(f"Sales set aside ({len(set_aside):,}), with their reasons",
              [Col("sale_id", "Sale"), Col("parcel_number", "Parcel"), Col("status"), Col("ratio", kind=RATIO),
               Col("reason", width=40)], set_aside, sheet="Set aside", pdf_rows=2_000),
        Table(f"Sales used ({sales['used']:,})", sale_columns, sale_rows, sheet="Sales", pdf_rows=500),
    ]  # fmt: skip
    document = Document(title=f"Ratio study, roll year {parameters['roll_year']}", county=county.name,
                        parameters=_title_parameters(parameters), sections=sections, landscape=True)  # fmt: skip
    return document, {key: summary[key] for key in ("sales", "overall", "sale_dates", "stratify_by")} | {
        "strata": len(summary["strata"]),
        "passing_strata": sum(_verdict(s) == "pass" for s in summary["strata"]),
    }


# -- value change ------------------------------------------------------------------------------------------------


def value_change(county: County, parameters: Mapping) -> tuple[Document, dict]:
    """Roll year Y against Y - 1 (values from the same source), per neighborhood and use code: counts and totals,
    the median and distribution of the change, new construction, and the largest changes."""
    year, source = parameters["roll_year"], parameters["value_source"]
    parcels = _with_year(_with_year(Property.objects.filter(county=county, is_active=True), year, source, "now"),
                         year - 1, source, "before")  # fmt: skip
    rows = list(parcels.values_list(
        "parcel_number", "neighborhood__code", "class_code", "year_built", "before__market_value",
        "now__market_value", "before__improvement_value", "now__improvement_value", "situs_address",
    ))  # fmt: skip
    numbers, hoods, classes, built, before, now, imp_before, imp_now, addresses = (
        np.array(column, dtype=object) for column in (zip(*rows, strict=True) if rows else [()] * 9)
    )
    before_v, now_v = (np.array([np.nan if v is None else v for v in c], dtype=float) for c in (before, now))
    imp_b, imp_n = (np.array([0 if v is None else v for v in c], dtype=float) for c in (imp_before, imp_now))
    both = np.isfinite(before_v) & np.isfinite(now_v) & (before_v > 0)
    change = np.full(len(rows), np.nan)
    change[both] = now_v[both] / before_v[both] - 1
    new_construction = (
        np.isfinite(now_v)
        & (imp_n > imp_b)
        & ((imp_b == 0) | np.array([b is not None and b >= year - 1 for b in built], dtype=bool))
    )
    group_columns = [
        Col("neighborhood", "Neighborhood"), Col("use_code", "Use code"), Col("parcels", "Parcels", INT),
        Col("valued_both", "Valued both years", INT), Col("total_before", f"Total {year - 1}", MONEY),
        Col("total_now", f"Total {year}", MONEY), Col("total_change", "Total change", SHARE),
        Col("median_change", "Median change", SHARE),
        *(Col(f"bin_{i}", label, INT) for i, label in enumerate(CHANGE_LABELS)),
        Col("new_construction", "New construction", INT),
        Col("new_construction_value", "New construction value", MONEY),
    ]  # fmt: skip

    def group_row(mask, hood, use):
        b, n, c = before_v[mask & both], now_v[mask & both], change[mask & both]
        histogram = np.histogram(c, bins=CHANGE_BINS)[0] if c.size else np.zeros(len(CHANGE_LABELS), int)
        fresh = mask & new_construction
        return (hood, use, int(mask.sum()), int(c.size), float(b.sum()), float(n.sum()),
                float(n.sum() / b.sum() - 1) if b.sum() else None, float(np.median(c)) if c.size else None,
                *(int(x) for x in histogram), int(fresh.sum()), float((imp_n[fresh] - imp_b[fresh]).sum()))  # fmt: skip

    hood_text, class_text = np.array([h or "" for h in hoods]), np.array([c or "" for c in classes])
    table_rows = [group_row(np.ones(len(rows), bool), "(county)", "(all)")]
    for hood in sorted(set(hood_text)):
        in_hood = hood_text == hood
        table_rows.append(group_row(in_hood, hood, "(all)"))
        for use in sorted(set(class_text[in_hood])):
            table_rows.append(group_row(in_hood & (class_text == use), hood, use))
    valued = np.flatnonzero(both)
    order = valued[np.argsort(-np.abs(now_v[valued] - before_v[valued]), kind="stable")]
    largest = [
        (numbers[i], addresses[i], hoods[i] or "", classes[i], before_v[i], now_v[i], now_v[i] - before_v[i], change[i])
        for i in order[:LARGEST_CHANGES]
    ]
    county_row = table_rows[0]
    sections = [
        Text(f"Roll year {year} against {year - 1}, {source} values of the active parcels. New construction: "
             f"parcels whose improvement value rose from nothing (or from no value in {year - 1}), or that were built "
             "in the last year."),
        Chart("The change of market value, parcels valued both years", charts.bars(
            CHANGE_LABELS, list(county_row[8:15]), reference=None, ylabel="parcels",
            title=f"{county.name}: value change {year - 1} to {year}")),
        Table("By neighborhood and use code", group_columns, table_rows, sheet="By neighborhood"),
        Table(f"The {LARGEST_CHANGES} largest changes (dollars)",
              [Col("parcel_number", "Parcel"), Col("address", "Address"), Col("neighborhood"), Col("use_code", "Use"),
               Col("before", f"{year - 1}", MONEY), Col("now", f"{year}", MONEY), Col("change", "Change", MONEY),
               Col("change_share", "Change %", SHARE)], largest, sheet="Largest changes"),
    ]  # fmt: skip
    summary = {
        "parcels": county_row[2], "valued_both_years": county_row[3], "total_before": county_row[4],
        "total_now": county_row[5], "total_change": county_row[6], "median_change": county_row[7],
        "new_construction": county_row[15], "new_construction_value": county_row[16],
    }  # fmt: skip
    return Document(title=f"Value change {year - 1} to {year}", county=county.name,
                    parameters=_title_parameters(parameters), sections=sections, landscape=True), summary  # fmt: skip


# -- neighborhood summary ----------------------------------------------------------------------------------------


def neighborhood_report(county: County, parameters: Mapping) -> tuple[Document, dict]:
    """All neighborhoods in a table with the county's chart of median ratios, then a page per neighborhood: its
    parcels and values, its sales and ratio statistics (the study window), and its median sale price by month over
    the two years before the window as well."""
    year, source = parameters["roll_year"], parameters["value_source"]
    study = {"roll_year": year, "value_source": source}
    summary, files = neighborhood_summary(county=county, parameters=study)
    start, end = study_window(county, study)
    sales = valid_sales(county=county, date_from=start - datetime.timedelta(days=730), date_to=end, roll_year=year,
                        value_source=source)  # fmt: skip
    figures = [Col("figure", "Figure", width=28), Col("value", "Value", FLOAT)]
    overview = Table("All neighborhoods", [
        Col("neighborhood"), Col("parcels", kind=INT), Col("market_value", kind=MONEY),
        Col("median_market_value", kind=MONEY), Col("sales", kind=INT), Col("median_sale_price", kind=MONEY),
        Col("ratio_median", "Median ratio", RATIO), Col("ratio_cod", "COD", FLOAT)],
        [(r["neighborhood"], r["parcels"], r["market_value"], r["median_market_value"], r["sales"],
          r["median_sale_price"], (r["ratio"] or {}).get("median"), (r["ratio"] or {}).get("cod"))
         for r in summary["neighborhoods"]], sheet="Neighborhoods")  # fmt: skip
    sections = [overview, *(Chart(f.title, f.content) for f in files if f.name.endswith(".png"))]
    for row in summary["neighborhoods"]:
        code = row["neighborhood"]
        here = sales["neighborhood"] == (code if code != "(none)" else "")
        sections += [PageBreak(), Text(f"Neighborhood {code}", heading=True), Table(f"Neighborhood {code}", figures, [
            ("Parcels", row["parcels"]), ("Active parcels", row["active_parcels"]),
            ("Market value (total)", row["market_value"]), ("Assessed value (total)", row["assessed_value"]),
            ("Median market value", row["median_market_value"]), (f"Valid sales {start} to {end}", row["sales"]),
            ("Median sale price", row["median_sale_price"]),
            *((f"Ratio: {k}", (row["ratio"] or {}).get(k)) for k in ("n", "median", "cod", "prd")),
        ], sheet=f"N {code}")]  # fmt: skip
        if here.sum() >= 2:
            months = sales["sale_date"][here].astype("datetime64[M]")
            labels, index = np.unique(months, return_inverse=True)
            medians = [float(np.median(sales["sale_price"][here][index == i])) for i in range(len(labels))]
            sections.append(
                Chart(
                    f"Neighborhood {code}: median sale price by month",
                    charts.lines(
                        {code: ([str(m) for m in labels], medians)}, ylabel="median price", title=f"Neighborhood {code}"
                    ),
                )
            )
    return Document(title=f"Neighborhood summary, roll year {year}", county=county.name,
                    parameters=_title_parameters(parameters), sections=sections), summary["totals"]  # fmt: skip


REPORTS = {
    ReportType.ASSESSMENT_ROLL: assessment_roll,
    ReportType.COUNTY_SUMMARY: county_summary,
    ReportType.RATIO_STUDY: ratio_study_report,
    ReportType.VALUE_CHANGE: value_change,
    ReportType.NEIGHBORHOOD_SUMMARY: neighborhood_report,
}
