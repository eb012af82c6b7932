"""The admin of valuation: a job's holdout statistics and model report; its results listed and filtered for review
(neighborhood, change, flags), each with the evidence behind its value, and applied to the roll from the list by
whoever may certify values; and each property's page showing its newest valuation's evidence (the comparables grid
or the model's contributions).

The property page is the properties app's admin, extended here: properties sits below valuation and knows
nothing of it, so valuation registers a subclass of its admin with the evidence added.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.html import format_html

from counties.access import user_can
from counties.roles import CERTIFY
from properties.admin import PropertyAdmin
from properties.models import Property
from terrafusion.admin import CountyListFilter, CountyScopedAdmin, JobAdmin, html_table
from terrafusion.jobs.models import JobStatus
from valuation.choices import ResultFlag
from valuation.filtersets import flag_condition
from valuation.jobs import VALUATION_JOBS
from valuation.models import LARGE_CHANGE, ValuationJob, ValuationResult
from valuation.services import ApplyRefused, ValuationError, result_explain, valuation_apply


def _money(value) -> str:
    return "-" if value is None else f"${value:,.0f}"


def _signed(value) -> str:
    return "0" if not value else f"{'+' if value > 0 else '-'}${abs(value):,.0f}"


def _ratio(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _shown(value) -> str:
    """An attribute in a grid: whole numbers without a decimal point, thousands separated."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return "-" if value is None else str(value)


def holdout_table(result: dict) -> str:
    """The holdout's ratio statistics, overall and per neighborhood."""
    holdout = result.get("holdout")
    if not holdout:
        return format_html("<p>{}</p>", "No holdout: every sale trained the model.")
    rows = [
        [entry["stratum"], entry["n"], _ratio(entry["median"]), _ratio(entry["cod"], 1), _ratio(entry["prd"]),
         _ratio(entry["prb"])]
        for entry in [holdout["overall"], *holdout["by_neighborhood"]]
    ]  # fmt: skip
    sales = result["sales"]
    intro = format_html(
        "<p>Trained on {} sales ({} to {}); judged on {} held out. Time adjustment: {}.</p>",
        sales["training"], *result["sale_dates"], sales["holdout_valued"], result["time_adjustment"]["source"],
    )  # fmt: skip
    return format_html("{}{}", intro, html_table(["stratum", "sales", "median ratio", "COD", "PRD", "PRB"], rows))


def model_table(result: dict) -> str:
    """The model's effects (hedonic, comparables' rates) or feature importances (gbm)."""
    if "feature_importances" in result:
        rows = [[name, f"{share:.1%}"] for name, share in result["feature_importances"].items()]
        return html_table(["feature", "share of the gain"], rows)
    rows = [[term, f"{coefficient:+.4f}"] for term, coefficient in result.get("effects", {}).items()]
    return html_table(["term", "effect on log price"], rows)


def explanation_html(explained: dict) -> str:
    """Why a value: the comparables grid (a column per comparable, a row per line) or the contributions."""
    head = format_html(
        "<p>{} {}: {} (80% range {} to {}) at {}.</p>", explained["method"].replace("_", " ").capitalize(), "value",
        _money(explained["value"]), _money(explained["low"]), _money(explained["high"]), explained["valuation_date"],
    )  # fmt: skip
    if "comparables" not in explained:
        rows = [[line["term"], f"{line['factor']:.4f}", _signed(line["amount"])] for line in explained["contributions"]]
        return format_html("{}{}", head, html_table(["term", "factor", "dollars (in order)"], rows))
    comps = explained["comparables"]
    if not comps:
        return format_html("{}<p>No comparable sales were found.</p>", head)
    names = [a["name"] for a in comps[0]["adjustments"]]
    rows = [
        ["sale", "", *(f"{c['sale']['parcel_number']} on {c['sale']['sale_date']}" for c in comps)],
        ["distance", "", *(f"{c['distance_miles']:.2f} mi" for c in comps)],
        ["price", "", *(_money(c["price"]) for c in comps)],
    ]
    for index, name in enumerate(names):
        subject = comps[0]["adjustments"][index]["subject"]  # as each line compares it (age: at the valuation date)
        rows.append([
            name, "" if name == "time" else _shown(subject),
            *(f"{_shown(c['adjustments'][index]['comparable'])}: {_signed(c['adjustments'][index]['amount'])}"
              for c in comps),
        ])  # fmt: skip
    rows += [
        [
            "net (gross %)",
            "",
            *(f"{_signed(c['net_adjustment'])} ({c['gross_adjustment_percent']:.1f}%)" for c in comps),
        ],
        ["adjusted price", "", *(_money(c["adjusted_price"]) for c in comps)],
        ["weight", "", *(f"{c['weight']:.1%}" for c in comps)],
    ]
    headers = ["", "subject", *(f"comparable {i + 1}" for i in range(len(comps)))]
    return format_html("{}{}", head, html_table(headers, rows, css_class="tf-figures tf-grid"))


def _evidence(result: ValuationResult) -> str:
    """The result's explanation: stored with a one-property job, else computed from the job's kept model."""
    kept = result.job.result or {}
    try:
        explained = kept["explanation"] if kept.get("property") == result.property_id else result_explain(result)
    except ValuationError as exc:
        return format_html("<p>{}</p>", exc)
    return explanation_html(explained)


@admin.register(ValuationJob)
class ValuationJobAdmin(JobAdmin):
    """The generated job admin, plus the holdout statistics, the model report and a link to review the results."""

    job_kind = VALUATION_JOBS
    fieldsets = (
        *JobAdmin.fieldsets[:3],
        ("Holdout and model", {"fields": ("holdout", "model", "review")}),
        *JobAdmin.fieldsets[3:],
    )
    readonly_fields = (*JobAdmin.readonly_fields, "holdout", "model", "review")

    def _completed(self, obj) -> bool:
        return obj.status == JobStatus.COMPLETED and {"method", "sales", "parcels"} <= set(obj.result or {})

    @admin.display(description="holdout")
    def holdout(self, obj) -> str:
        return holdout_table(obj.result) if self._completed(obj) else "-"

    @admin.display(description="model")
    def model(self, obj) -> str:
        return model_table(obj.result) if self._completed(obj) else "-"

    @admin.display(description="results")
    def review(self, obj) -> str:
        if not self._completed(obj):
            return "-"
        from django.urls import reverse

        url = reverse("admin:valuation_valuationresult_changelist")
        parcels = obj.result["parcels"]
        flagged = ValuationResult.objects.filter(county_id=obj.county_id, job=obj).filter(
            flag_condition("large_change")
        )
        flagged = flagged.count()
        return format_html(
            '<a href="{}?job={}">Review the {} results</a> ({} flagged for more than {} change); '
            "{} parcels not valued.",
            url, obj.pk, f"{parcels['valued']:,}", f"{flagged:,}", f"{LARGE_CHANGE:.0%}",
            f"{parcels['not_valued']:,}",
        )  # fmt: skip


class JobFilter(admin.SimpleListFilter):
    title = "job"
    parameter_name = "job"

    def lookups(self, request, model_admin):
        jobs = ValuationJob.objects.restrict(request.user, "view").filter(status=JobStatus.COMPLETED)
        chosen = jobs.filter(pk=self.value()) if _is_uuid(self.value()) else jobs.none()
        newest = [*jobs.order_by("-created_at")[:20], *chosen]
        return [(str(job.pk), f"{job.created_at:%Y-%m-%d %H:%M} {job.parameters.get('method', '')}") for job in
                dict.fromkeys(newest)]  # fmt: skip

    def queryset(self, request, queryset):
        return queryset.filter(job_id=self.value()) if _is_uuid(self.value()) else queryset


def _is_uuid(value) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


class FlagFilter(admin.SimpleListFilter):
    title = "flag"
    parameter_name = "flag"

    def lookups(self, request, model_admin):
        return ResultFlag.choices

    def queryset(self, request, queryset):
        return queryset.filter(flag_condition(self.value())) if self.value() else queryset


class ChangeFilter(admin.SimpleListFilter):
    title = "change from the current value"
    parameter_name = "change_band"
    BANDS = {
        "down30": ("more than 30% down", None, -0.30),
        "down10": ("10-30% down", -0.30, -0.10),
        "level": ("within 10%", -0.10, 0.10),
        "up10": ("10-30% up", 0.10, 0.30),
        "up30": ("more than 30% up", 0.30, None),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _, _) in self.BANDS.items()]

    def queryset(self, request, queryset):
        if self.value() not in self.BANDS:
            return queryset
        _, low, high = self.BANDS[self.value()]
        if low is not None:
            queryset = queryset.filter(change__gte=low)
        if high is not None:
            queryset = queryset.filter(change__lt=high) if low is not None else queryset.filter(change__lte=high)
        return queryset


class NeighborhoodFilter(admin.SimpleListFilter):
    title = "neighborhood"
    parameter_name = "neighborhood"

    def lookups(self, request, model_admin):
        codes = (
            model_admin.get_queryset(request).order_by().values_list("property__neighborhood__code", flat=True)
        ).distinct()
        return [(code, code) for code in sorted(c for c in codes[:500] if c)]

    def queryset(self, request, queryset):
        return queryset.filter(property__neighborhood__code=self.value()) if self.value() else queryset


@admin.register(ValuationResult)
class ValuationResultAdmin(CountyScopedAdmin):
    """Valuation results for review, read only; the selected ones can be applied to the roll (certify_values)."""

    read_only = True
    list_display = ("property", "neighborhood", "estimate_display", "current_display", "change_display",
                    "range_display", "flags_display", "method", "roll_year", "job")  # fmt: skip
    list_filter = (
        ("county", CountyListFilter),
        JobFilter,
        FlagFilter,
        ChangeFilter,
        NeighborhoodFilter,
        "method",
        "roll_year",
    )
    list_select_related = ("property", "property__neighborhood", "job")
    search_fields = ("^property__parcel_number",)
    search_help_text = "Parcel number (from its start)."
    actions = ["apply_selected"]
    fields = ("job", "property", "roll_year", "method", "estimate", "land_value", "improvement_value", "low", "high",
              "current_value", "change", "created_at", "evidence")  # fmt: skip
    readonly_fields = fields

    @admin.display(description="neighborhood", ordering="property__neighborhood__code")
    def neighborhood(self, obj) -> str:
        return obj.property.neighborhood.code if obj.property.neighborhood_id else ""

    @admin.display(description="estimate", ordering="estimate")
    def estimate_display(self, obj) -> str:
        return _money(obj.estimate)

    @admin.display(description="current value", ordering="current_value")
    def current_display(self, obj) -> str:
        return _money(obj.current_value)

    @admin.display(description="change", ordering="change")
    def change_display(self, obj) -> str:
        return "-" if obj.change is None else f"{obj.change:+.1%}"

    @admin.display(description="80% range")
    def range_display(self, obj) -> str:
        return f"{_money(obj.low)} - {_money(obj.high)}"

    @admin.display(description="flags")
    def flags_display(self, obj) -> str:
        return ", ".join(ResultFlag(flag).label for flag in obj.flags)

    @admin.display(description="evidence")
    def evidence(self, obj) -> str:
        return _evidence(obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.county_allows(request, CERTIFY):
            actions.pop("apply_selected", None)
        return actions

    @admin.action(description="Apply the selected results to the roll (their job's roll year)")
    def apply_selected(self, request, queryset):
        """Each job's selected results, applied like the API's apply (certified values are left alone)."""
        jobs = list(ValuationJob.objects.filter(pk__in=queryset.values("job_id")).select_related("county"))
        for job in jobs:  # every county checked before anything is written
            if not user_can(request.user, CERTIFY, job.county_id):
                raise PermissionDenied(f"You may not certify values in {job.county.name}.")
        for job in jobs:
            try:
                applied = valuation_apply(job=job, results=queryset.filter(job=job), user=request.user)
            except ApplyRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.message_user(
                request,
                f"Job {job.pk}: {applied['written']:,} parcels' {applied['roll_year']} values written, "
                f"{applied['unchanged']:,} already so, {applied['certified']:,} certified and left alone.",
                messages.SUCCESS,
            )


admin.site.unregister(Property)


@admin.register(Property)
class PropertyWithValuationAdmin(PropertyAdmin):
    """The property admin, with its newest valuation's evidence (the grid of comparable sales, or the model's
    contributions) below its values."""

    fieldsets = (*PropertyAdmin.fieldsets, ("Valuation evidence", {"fields": ("valuation_evidence",)}))
    readonly_fields = (*PropertyAdmin.readonly_fields, "valuation_evidence")

    @admin.display(description="newest valuation")
    def valuation_evidence(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "-"
        result = (
            ValuationResult.objects.filter(property=obj, job__status=JobStatus.COMPLETED)
            .select_related("job", "county")
            .order_by("-created_at", "-id")
            .first()
        )
        if result is None:
            return "Not valued yet."
        title = format_html(
            "<p>{}: {} by {}, job {} of {}.</p>", result.roll_year, _money(result.estimate),
            result.get_method_display(), result.job_id, result.created_at.date(),
        )  # fmt: skip
        return format_html("{}{}", title, _evidence(result))
