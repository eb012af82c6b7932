"""The admin of market analysis: each job's figures as tables (its charts come with its files), and the
county's time indexes with their months."""

import math

from django.contrib import admin
from django.utils.html import format_html

from market_analysis.choices import Analysis
from market_analysis.jobs import MARKET_ANALYSIS_JOBS
from market_analysis.models import MarketAnalysisJob, TimeIndex, TimeIndexMonth
from terrafusion.admin import CountyListFilter, CountyScopedAdmin, CountyScopedTabularInline, JobAdmin, html_table
from terrafusion.jobs.models import JobStatus


def _number(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _interval(pair, digits: int = 3) -> str:
    return "" if not pair else f" [{pair[0]:.{digits}f}, {pair[1]:.{digits}f}]"


def _verdict(standards: dict | None, name: str) -> str:
    if not standards or standards.get(name) is None:
        return ""
    return " ✔" if standards[name] else " ✘"


def ratio_study_table(result: dict) -> str:
    """The overall and per-stratum statistics, each with its interval and ✔/✘ against its standard."""
    rows = []
    for entry in [result["overall"], *result["strata"]]:
        ci, standards = entry.get("ci") or {}, entry.get("standards")
        if entry["median"] is None:
            rows.append([entry["stratum"], entry["n"], "too few sales", "", "", "", "", ""])
            continue
        rows.append([
            entry["stratum"],
            entry["n"],
            f"{_number(entry['median'])}{_interval(ci.get('median'))}{_verdict(standards, 'median')}",
            f"{_number(entry['cod'], 1)}{_interval(ci.get('cod'), 1)}{_verdict(standards, 'cod')}",
            f"{_number(entry['prd'])}{_interval(ci.get('prd'))}{_verdict(standards, 'prd')}",
            f"{_number(entry['prb'])}{_interval(ci.get('prb'))}{_verdict(standards, 'prb')}",
            f"{_number(entry['vei'], 1)}{_verdict(standards, 'vei')}",
            _number(entry["mki"]),
        ])  # fmt: skip
    headers = ["stratum", "sales", "median ratio", "COD", "PRD", "PRB", "VEI %", "MKI"]
    chasing = result.get("sales_chasing")
    note = ""
    if chasing:
        note = format_html(
            "<p>Sales chasing: {}. {}; {}.</p>",
            "suspected" if chasing["flagged"] else "not detected",
            chasing["distribution"]["detail"],
            chasing["cdf_jump"]["detail"],
        )
    sales = result["sales"]
    counts = format_html(
        "<p>{} sales selected, {} used, {} excluded, {} trimmed; intervals at {} from {} resamples.</p>",
        sales["selected"], sales["used"], sales["excluded"], sales["trimmed"], f"{result['confidence']:.0%}",
        result["resamples"],
    )  # fmt: skip
    return format_html("{}{}{}", counts, html_table(headers, rows), note)


def price_trends_table(result: dict) -> str:
    rows = [
        [r["period"], r["sales"], _number(r["median_price"], 0), _number(r["median_price_per_sqft"], 2),
         "-" if r["yoy_change"] is None else f"{r['yoy_change']:+.1%}"]
        for r in result["county_trend"]
    ]  # fmt: skip
    return html_table(["period", "sales", "median price", "median $/sq ft", "year on year"], rows)


def time_adjustment_table(result: dict) -> str:
    rows = [[m["month"], m["sales"], _number(m["index"], 4), _number(m["factor"], 4)] for m in result["months"]]
    intro = format_html(
        "<p>{} sales, R² {}; {} a month on average ({} a year), {} a month recently.</p>",
        result["sales_used"], result["r_squared"], f"{math.expm1(result['monthly_trend']):+.2%}",
        f"{result['annual_change']:+.1%}", f"{math.expm1(result['recent_trend']):+.2%}",
    )  # fmt: skip
    return format_html("{}{}", intro, html_table(["month", "sales", "index", "factor to valuation date"], rows))


def neighborhood_summary_table(result: dict) -> str:
    rows = [
        [r["neighborhood"], r["name"], r["active_parcels"], _number(r["market_value"], 0),
         _number(r["median_market_value"], 0), r["sales"], _number(r["median_sale_price"], 0),
         _number((r["ratio"] or {}).get("median")), _number((r["ratio"] or {}).get("cod"), 1)]
        for r in result["neighborhoods"]
    ]  # fmt: skip
    headers = [
        "code",
        "name",
        "parcels",
        "market value",
        "median value",
        "sales",
        "median price",
        "median ratio",
        "COD",
    ]
    return html_table(headers, rows)


FIGURES = {
    Analysis.RATIO_STUDY: ratio_study_table,
    Analysis.PRICE_TRENDS: price_trends_table,
    Analysis.TIME_ADJUSTMENT: time_adjustment_table,
    Analysis.NEIGHBORHOOD_SUMMARY: neighborhood_summary_table,
}


@admin.register(MarketAnalysisJob)
class MarketAnalysisJobAdmin(JobAdmin):
    """The generated job admin, plus the analysis's figures as a table above its files and charts."""

    job_kind = MARKET_ANALYSIS_JOBS
    fieldsets = (
        *JobAdmin.fieldsets[:3],
        ("Figures", {"fields": ("figures",)}),
        *JobAdmin.fieldsets[3:],
    )
    readonly_fields = (*JobAdmin.readonly_fields, "figures")

    @admin.display(description="figures")
    def figures(self, obj) -> str:
        if obj.status != JobStatus.COMPLETED or not obj.result:
            return "-"
        render = FIGURES.get(obj.result.get("analysis"))
        return render(obj.result) if render else "-"


class TimeIndexMonthInline(CountyScopedTabularInline):
    model = TimeIndexMonth
    fields = ("month", "sales", "index", "factor")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TimeIndex)
class TimeIndexAdmin(CountyScopedAdmin):
    """A county's market indexes: made by time_adjustment jobs, read by valuation and ratio studies. Read only."""

    read_only = True
    list_display = ("created_at", "county", "method", "valuation_date", "first_month", "last_month", "sales_used")
    list_filter = (("county", CountyListFilter), "method")
    list_select_related = ("county",)
    fields = (
        "county", "job", "method", "valuation_date", "first_month", "last_month", "sales_used", "monthly_trend",
        "recent_trend", "r_squared", "created_at",
    )  # fmt: skip
    inlines = [TimeIndexMonthInline]
