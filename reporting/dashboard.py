"""The county dashboard on the admin's home page: for each county the user may view, its parcel and sale counts, the
latest ratio study's headline figures with IAAO pass/fail, the median sale price by month, and the jobs running and
recently finished, each linked to its page. Figures are cached a few minutes per county; the jobs are live."""

import datetime

import numpy as np
from django.core.cache import cache
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from counties.models import County
from market_analysis.models import MarketAnalysisJob
from market_analysis.selectors import valid_sales
from properties.models import Property, Sale
from reporting.reports import study_failures
from terrafusion.jobs.models import FINISHED_STATUSES, JobStatus
from terrafusion.jobs.registry import job_kinds

FIGURES_CACHE_SECONDS = 300
TREND_MONTHS = 36
RECENT_JOBS = 8


def county_dashboard(request) -> str:
    user = request.user
    if not (user.is_authenticated and user.is_staff):
        return ""
    counties = list(County.objects.restrict(user, "view").filter(is_active=True).order_by("name"))
    if not counties:
        return ""
    cards = [{"county": county, **_figures(county), "jobs": _jobs(county)} for county in counties]
    return render_to_string("admin/reporting/dashboard.html", {"cards": cards}, request=request)


def _figures(county: County) -> dict:
    key = f"dashboard:{county.pk}"
    figures = cache.get(key)
    if figures is None:
        figures = {
            "parcels": Property.objects.filter(county=county, is_active=True).count(),
            "sales": Sale.objects.filter(county=county).count(),
            "valid_sales": Sale.objects.filter(county=county, is_valid=True).count(),
            "study": _latest_study(county),
            "trend": _trend_svg(county),
        }
        cache.set(key, figures, FIGURES_CACHE_SECONDS)
    return figures


def _latest_study(county: County) -> dict | None:
    job = (
        MarketAnalysisJob.objects.filter(county=county, status=JobStatus.COMPLETED, parameters__analysis="ratio_study")
        .order_by("-finished_at")
        .first()
    )
    if job is None or not job.result or "overall" not in job.result:
        return None
    overall = job.result["overall"]
    failures = study_failures(overall)
    return {
        "url": reverse("admin:market_analysis_marketanalysisjob_change", args=[job.pk]),
        "finished_at": job.finished_at,
        "roll_year": job.result.get("roll_year"),
        "n": overall.get("n"),
        "median": overall.get("median"),
        "cod": overall.get("cod"),
        "prd": overall.get("prd"),
        "prb": overall.get("prb"),
        "failures": failures,  # None: too few sales to judge
    }


def _trend_svg(county: County) -> str:
    """The median valid sale price by month since TREND_MONTHS months ago (the months with sales), as a small SVG."""
    start = timezone.localdate() - datetime.timedelta(days=31 * TREND_MONTHS)
    sales = valid_sales(county=county, date_from=start)
    if len(sales) < 2:
        return ""
    months = sales["sale_date"].astype("datetime64[M]")
    labels, index = np.unique(months, return_inverse=True)
    medians = np.array([np.median(sales["sale_price"][index == i]) for i in range(len(labels))])
    if len(labels) < 2:
        return ""
    width, height, pad = 320, 110, 22
    low, high = float(medians.min()), float(medians.max())
    span = (high - low) or 1.0
    xs = pad + np.arange(len(labels)) * (width - 2 * pad) / (len(labels) - 1)
    ys = height - pad - (medians - low) / span * (height - 2 * pad)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return render_to_string("admin/reporting/trend.svg", {
        "width": width, "height": height, "points": points, "first": str(labels[0]), "last": str(labels[-1]),
        "low": f"${low:,.0f}", "high": f"${high:,.0f}", "pad": pad, "bottom": height - 4,
    })  # fmt: skip


def _jobs(county: County) -> list[dict]:
    """The county's jobs running or pending, then those finished in the last week, newest first (every kind)."""
    since = timezone.now() - datetime.timedelta(days=7)
    jobs = []
    for kind in job_kinds():
        model = kind.model
        rows = model.objects.filter(county=county).exclude(status__in=FINISHED_STATUSES)[:RECENT_JOBS]
        done = model.objects.filter(county=county, status__in=FINISHED_STATUSES, finished_at__gte=since)
        for job in [*rows, *done.order_by("-finished_at")[:RECENT_JOBS]]:
            jobs.append({
                "kind": kind.label, "status": job.status, "created_at": job.created_at, "progress": job.progress,
                "finished_at": job.finished_at, "url": reverse(
                    f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[job.pk]),
                "summary": job.progress_message or job.error_message[:120],
            })  # fmt: skip
    jobs.sort(key=lambda j: (j["finished_at"] is not None, -(j["finished_at"] or j["created_at"]).timestamp()))
    return jobs[:RECENT_JOBS]
