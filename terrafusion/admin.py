"""The county-scoped admin base: every admin list, form, inline, import and export sees the user's counties only.

The rules are the API's (ARCHITECTURE.md, "Authorisation, in one place"), through the same enforcement point,
`Model.objects.restrict(user, action)` / `counties.access.county_ids_for` / `user_can`:
- lists and change pages show the rows of counties where the user holds `view_county_data`; another county's
  object is "not found" (Django's admin redirects to the index with a message);
- adding, changing and deleting need `change_county_data` in the object's county (in some county for the
  add button and list-level checks); saving into a county the user cannot change is refused with 403;
- foreign-key choices (county, neighborhood, property) offer only rows of counties the user may change.
Django's model-level permissions play no part: roles are per county (guardian rows on County), so a staff
user needs only `is_staff` plus a role.
"""

import json
from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from import_export.admin import ImportExportMixin

from counties.access import county_ids_for
from counties.models import County


def json_block(value: Any) -> str:
    """A JSON value as an indented, escaped <pre> block for read-only admin fields."""
    if value in (None, "", [], {}):
        return "-"
    return format_html('<pre class="tf-json">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False, default=str))


def county_id_of(obj) -> int | None:
    """The county id of a county-scoped object (the County itself for a County)."""
    return getattr(obj, type(obj).COUNTY_FIELD)


def is_county_scoped(model) -> bool:
    return hasattr(model, "COUNTY_FIELD") and hasattr(model.objects, "restrict")


class _AppliedWhenUsed:
    """Django applies only filters that have output, and a filter with a single choice has none: its
    parameter would be dropped silently (`?county__id__exact=<a county not offered>` listing everything).
    A filter that was given a value is therefore always applied (and shown).
    """

    def has_output(self) -> bool:
        return bool(self.lookup_val or self.lookup_val_isnull) or super().has_output()


class CountyListFilter(_AppliedWhenUsed, admin.RelatedFieldListFilter):
    """A county filter that lists only the counties the user may view (not every county in the database)."""

    def field_choices(self, field, request, model_admin):
        return [(county.pk, str(county)) for county in County.objects.restrict(request.user, "view")]


class CountyScopedRelatedListFilter(_AppliedWhenUsed, admin.RelatedFieldListFilter):
    """A filter over a county-scoped related model (e.g. neighborhood): the user's counties only.

    When the list is also filtered by county (`county__id__exact`), only that county's rows are offered.
    """

    county_parameter = "county__id__exact"

    def field_choices(self, field, request, model_admin):
        related = field.related_model
        queryset = related.objects.restrict(request.user, "view").select_related("county")
        county_id = request.GET.get(self.county_parameter, "")
        if county_id.isdigit():
            queryset = queryset.filter(county_id=int(county_id))
        several_counties = len({row.county_id for row in queryset}) > 1
        return [(row.pk, f"{row} ({row.county.name})" if several_counties else str(row)) for row in queryset]


class CountyScopedPermissions:
    """has_*_permission for ModelAdmin and InlineModelAdmin, from the user's county roles.

    For an inline, `obj` is the parent object, so an inline follows its parent's county.
    """

    view_action = "view"
    change_action = "change"  # the County admin uses manage_county
    read_only = False  # True: nobody adds, changes or deletes here (audit trail, jobs, value history)

    def county_allows(self, request, action: str, obj=None) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        county_ids = county_ids_for(user, action)
        if county_ids is None:  # superuser
            return True
        if obj is None:
            return bool(county_ids)
        return county_id_of(obj) in county_ids

    def has_module_permission(self, request) -> bool:
        return self.county_allows(request, self.view_action)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.county_allows(request, self.view_action, obj) or self.has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return not self.read_only and self.county_allows(request, self.change_action, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return not self.read_only and self.county_allows(request, self.change_action, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not self.read_only and self.county_allows(request, self.change_action, obj)

    def restricted_related_queryset(self, db_field, request):
        """Choices for a foreign key: only rows of counties where the user may change data."""
        related = db_field.related_model
        if related is County:
            return County.objects.restrict(request.user, self.change_action)
        if is_county_scoped(related):
            return related.objects.restrict(request.user, "change")
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            queryset = self.restricted_related_queryset(db_field, request)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CountyScopedAdmin(CountyScopedPermissions, admin.ModelAdmin):
    """The base of every admin over a county-scoped model."""

    # Big tables: no second COUNT(*) of the unfiltered table and no facet counts per page load.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # A row's county is part of its identity (keys are unique per county): set on add, read only after.
    county_readonly_on_change = True

    def get_queryset(self, request):
        return super().get_queryset(request).restrict(request.user, self.view_action)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        has_county = any(f.name == "county" for f in self.model._meta.fields)
        if obj is not None and self.county_readonly_on_change and has_county and "county" not in readonly:
            readonly.insert(0, "county")
        return readonly

    def check_can_save(self, request, obj) -> None:
        """Refuse (403, nothing written) a save into a county where the user may not change data."""
        if not self.county_allows(request, self.change_action, obj):
            raise PermissionDenied("You may not change data in this county.")

    def save_model(self, request, obj, form, change):
        self.check_can_save(request, obj)
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        self.check_can_save(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The list is restricted by "view"; a bulk delete must not reach rows the user may only view.
        if queryset.exclude(pk__in=queryset.restrict(request.user, self.change_action).values("pk")).exists():
            raise PermissionDenied("Some of the selected rows are in a county where you may not change data.")
        super().delete_queryset(request, queryset)

    def is_list_request(self, request) -> bool:
        """True for the changelist, its export and autocomplete: views that never need heavy columns."""
        match = getattr(request, "resolver_match", None)
        name = match.url_name if match else ""
        return bool(name) and (name.endswith(("_changelist", "_export")) or name == "autocomplete")


class CountyScopedInline(CountyScopedPermissions):
    """Mixin for inlines: rows restricted like the parent admin's, permissions from the parent's county."""

    def get_queryset(self, request):
        return super().get_queryset(request).restrict(request.user, self.view_action)


class CountyScopedTabularInline(CountyScopedInline, admin.TabularInline):
    pass


class CountyScopedImportExportAdmin(ImportExportMixin, CountyScopedAdmin):
    """A county-scoped admin with django-import-export: the resource receives the user and enforces it per row.

    Import needs "change" in some county (each row is checked against its own county by the resource);
    export needs "view" and exports the changelist's (restricted, filtered) queryset.
    """

    def has_import_permission(self, request) -> bool:
        return self.has_add_permission(request) or self.has_change_permission(request)

    def has_export_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "user": request.user}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), "user": request.user}

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        # If a row turns invalid between the preview and the confirm, write nothing rather than part of the file.
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            failed = len(result.row_errors()) + len(result.invalid_rows) + len(result.base_errors)
            messages.error(
                request,
                f"Nothing was imported: {failed} row(s) failed when the import was confirmed. "
                "Upload the file again to see the errors.",
            )
            return HttpResponseRedirect(reverse("admin:{}_{}_changelist".format(*self.get_model_info())))
        return super().process_result(result, request)


def log_table(entries: Iterable[dict]) -> str:
    """A job's log ([{at, level, message}, ...]) as an escaped HTML table."""
    entries = list(entries or [])
    if not entries:
        return "-"
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((e.get("at", ""), e.get("level", ""), e.get("message", "")) for e in entries if isinstance(e, dict)),
    )
    return format_html(
        '<table class="tf-log"><thead><tr><th>At</th><th>Level</th><th>Message</th></tr></thead>'
        "<tbody>{}</tbody></table>",
        rows,
    )


class JobAdmin(CountyScopedAdmin):
    """Read-only admin for a job model built on terrafusion.jobs.models.BaseJob (register one per kind).

    Jobs are started through the API (which checks the county's run_* permission and validates the
    parameters); here staff see status, parameters, results, errors and the log of their counties' jobs.
    """

    read_only = True
    list_display = ("id", "county", "status", "progress_percent", "created_at", "finished_at", "requested_by")
    list_filter = (("county", CountyListFilter), "status")
    list_select_related = ("county", "requested_by")
    date_hierarchy = "created_at"
    search_fields = ("=id", "=rq_job_id")
    fieldsets = (
        (None, {"fields": ("id", "county", "status", "requested_by", "progress_percent", "progress_message")}),
        ("Timing", {"fields": ("created_at", "started_at", "finished_at", "heartbeat_at", "duration")}),
        ("Parameters", {"fields": ("parameters_display",)}),
        ("Result", {"fields": ("result_display", "result_file", "error_message")}),
        ("Log", {"fields": ("log_display",)}),
        ("Queue", {"fields": ("rq_job_id", "worker_name")}),
    )
    readonly_fields = ("progress_percent", "duration", "parameters_display", "result_display", "log_display")

    @admin.display(description="progress")
    def progress_percent(self, obj) -> str:
        return f"{obj.progress * 100:.0f}%"

    @admin.display(description="duration (s)")
    def duration(self, obj) -> str:
        seconds = obj.duration_seconds
        return "-" if seconds is None else f"{seconds:.1f}"

    @admin.display(description="parameters")
    def parameters_display(self, obj) -> str:
        return json_block(obj.parameters)

    @admin.display(description="result summary")
    def result_display(self, obj) -> str:
        return json_block(obj.result)

    @admin.display(description="log")
    def log_display(self, obj) -> str:
        return log_table(obj.log)


__all__ = [
    "CountyListFilter",
    "CountyScopedAdmin",
    "CountyScopedImportExportAdmin",
    "CountyScopedInline",
    "CountyScopedRelatedListFilter",
    "CountyScopedTabularInline",
    "JobAdmin",
    "county_id_of",
    "json_block",
    "log_table",
]
