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

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from import_export.admin import ImportExportMixin
from rest_framework import serializers
from rest_framework.fields import empty

from counties.access import county_ids_for
from counties.models import County
from terrafusion.jobs.api import result_file_response
from terrafusion.jobs.models import JobStatus
from terrafusion.jobs.registry import JobKind
from terrafusion.jobs.runner import JobLimitReached, cancellable_statuses, job_cancel, job_start


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

    def check_can_delete_all(self, request, queryset) -> None:
        """Refuse a bulk delete that reaches a row the user may only view (lists are restricted by "view")."""
        if queryset.exclude(pk__in=queryset.restrict(request.user, self.change_action).values("pk")).exists():
            raise PermissionDenied("Some of the selected rows are in a county where you may not change data.")

    def delete_queryset(self, request, queryset):
        self.check_can_delete_all(request, queryset)
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


def html_table(headers: list[str], rows: list[list], css_class: str = "tf-figures") -> str:
    """A plain HTML table of figures (every cell escaped)."""
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows)
    )
    return format_html('<table class="{}"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', css_class, head, body)


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


def _form_field(name: str, field: serializers.Field) -> forms.Field:
    """A Django form field for one field of a job kind's parameters serializer."""
    default = None if field.default is empty else field.default
    options = {
        "label": field.label or name.replace("_", " ").capitalize(),
        "help_text": field.help_text or "",
        "required": field.required,
        "initial": default() if callable(default) else default,
    }
    if isinstance(field, serializers.BooleanField):
        return forms.BooleanField(**{**options, "required": False})
    if isinstance(field, serializers.MultipleChoiceField):
        return forms.MultipleChoiceField(choices=list(field.choices.items()), **options)
    if isinstance(field, serializers.ListField) and isinstance(field.child, serializers.ChoiceField):
        return forms.MultipleChoiceField(choices=list(field.child.choices.items()), **options)
    if isinstance(field, serializers.ChoiceField):
        return forms.ChoiceField(choices=list(field.choices.items()), **options)
    if isinstance(field, serializers.IntegerField):
        return forms.IntegerField(min_value=field.min_value, max_value=field.max_value, **options)
    if isinstance(field, (serializers.FloatField, serializers.DecimalField)):
        return forms.FloatField(min_value=field.min_value, max_value=field.max_value, **options)
    if isinstance(field, serializers.DateField):
        return forms.DateField(widget=widgets.AdminDateWidget, **options)
    if isinstance(field, serializers.CharField):
        return forms.CharField(max_length=field.max_length, **options)
    # Lists, objects and nested serializers: JSON, validated by the serializer like any other field.
    return forms.JSONField(**options)


def _is_default(field: serializers.Field, value) -> bool:
    default = field.default
    if default is empty:
        return False
    return value == (default() if callable(default) else default)


class JobStartForm(forms.Form):
    """Start a job of one kind: the county, then the kind's parameters, validated by its serializer (as the API)."""

    def __init__(self, *args, kind: JobKind, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind, self.user = kind, user
        self.fields["county"] = forms.ModelChoiceField(
            queryset=County.objects.restrict(user, kind.run_codename).filter(is_active=True),
            help_text=f"Counties where you may run {kind.label}s.",
        )
        self.parameter_names = []
        for name, field in kind.parameters().fields.items():
            if not field.read_only:
                self.fields[name] = _form_field(name, field)
                self.parameter_names.append(name)

    def clean(self):
        cleaned = super().clean()
        # A form shows every parameter, each at its default: what the user left blank or at its default was not
        # given (the serializer fills the same defaults), so a kind's serializer sees what an API client would.
        fields = self.kind.parameters().fields
        given = {
            name: cleaned[name]
            for name in self.parameter_names
            if cleaned.get(name) not in (None, "", []) and not _is_default(fields[name], cleaned[name])
        }
        try:
            cleaned["parameters"] = self.kind.validate_parameters(given)
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {None: exc.detail}
            for name, reasons in detail.items():
                field = name if name in self.fields else None
                for reason in reasons if isinstance(reasons, list) else [reasons]:
                    self.add_error(field, str(reason))
        return cleaned


class JobAdmin(CountyScopedAdmin):
    """The admin of a job kind (registered for every declared kind by `register_job_admins`).

    Staff see status, progress, parameters, results, errors and the log of their counties' jobs; with the
    kind's run permission in a county they start jobs there from a form built from the kind's parameters
    serializer (the same validation, permission and per-user cap as the API), cancel pending ones, and
    download result files. A job row is never edited or deleted here.
    """

    job_kind: JobKind
    read_only = True
    change_form_template = "admin/jobs/job_change_form.html"
    list_display = (
        "id", "county", "status", "progress_percent", "created_at", "finished_at", "requested_by", "download_link",
    )  # fmt: skip
    list_filter = (("county", CountyListFilter), "status")
    list_select_related = ("county", "requested_by")
    date_hierarchy = "created_at"
    search_fields = ("=id", "=rq_job_id")
    fieldsets = (
        (None, {"fields": ("id", "county", "status", "requested_by", "progress_percent", "progress_message")}),
        ("Timing", {"fields": ("created_at", "started_at", "finished_at", "heartbeat_at", "duration")}),
        ("Parameters", {"fields": ("parameters_display",)}),
        ("Result", {"fields": ("result_display", "files_display", "error_message")}),
        ("Log", {"fields": ("log_display",)}),
        ("Queue", {"fields": ("rq_job_id", "worker_name")}),
    )
    readonly_fields = (
        "progress_percent",
        "duration",
        "parameters_display",
        "result_display",
        "files_display",
        "log_display",
    )

    def may_run(self, request, job=None) -> bool:
        """Whether the user may start (and cancel) jobs of this kind: in the job's county, or in some county."""
        return self.county_allows(request, self.job_kind.run_codename, job)

    def has_add_permission(self, request, obj=None) -> bool:
        return self.may_run(request)

    def get_urls(self):
        prefix = self._url_prefix()
        return [
            path("<uuid:object_id>/cancel/", self.admin_site.admin_view(self.cancel_view), name=f"{prefix}_cancel"),
            path(
                "<uuid:object_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name=f"{prefix}_download",
            ),
            path(
                "<uuid:object_id>/files/<str:name>/",
                self.admin_site.admin_view(self.file_view),
                name=f"{prefix}_file",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        """The start form (in place of Django's add form: a job is started, not written)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        kind = self.job_kind
        form = JobStartForm(request.POST or None, kind=kind, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                job = job_start(
                    kind=kind,
                    user=request.user,
                    county=form.cleaned_data["county"],
                    parameters=form.cleaned_data["parameters"],
                )
            except JobLimitReached as exc:
                form.add_error(None, str(exc))
            else:
                if job.status == JobStatus.FAILED:
                    self.message_user(request, f"The job could not be queued: {job.error_message}", messages.ERROR)
                else:
                    self.message_user(request, f"Started {kind.label} {job.pk}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse(f"admin:{self._url_prefix()}_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Start a {kind.label}",
            "opts": self.opts,
            "form": form,
            "media": self.media + form.media,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/jobs/start_job.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        extra = {
            "job_running": job is not None and not job.is_finished,
            "job_cancellable": job is not None
            and job.status in cancellable_statuses(job)
            and self.may_run(request, job),
            "job_download_url": (
                reverse(f"admin:{self._url_prefix()}_download", args=[job.pk])
                if job is not None and job.status == JobStatus.COMPLETED and job.files
                else None
            ),
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def cancel_view(self, request, object_id):
        job = self.get_object(request, object_id)
        if job is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, str(object_id))
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.may_run(request, job):
            raise PermissionDenied
        if job_cancel(job=job):
            self.message_user(request, f"Cancelled {self.job_kind.label} {job.pk}.", messages.SUCCESS)
        else:
            self.message_user(request, f"The job is {job.status}; it cannot be cancelled now.", messages.ERROR)
        return HttpResponseRedirect(reverse(f"admin:{self._url_prefix()}_change", args=[job.pk]))

    def download_view(self, request, object_id):
        job = self.get_object(request, object_id)  # restricted to the user's counties: others' are not found
        if job is None or job.status != JobStatus.COMPLETED or job.main_file is None or job.files_expired:
            raise Http404("No result file for this job.")
        return result_file_response(job.main_file)

    def file_view(self, request, object_id, name):
        """One named result file; `?inline=1` shows it in the page (the charts on the job's page)."""
        job = self.get_object(request, object_id)
        entry = (
            job.file(name) if job is not None and job.status == JobStatus.COMPLETED and not job.files_expired else None
        )
        if entry is None:
            raise Http404("No such result file for this job.")
        # Inline only for PNG (the charts): any other type, HTML or SVG say, is a download, never rendered here.
        inline = request.GET.get("inline") == "1" and entry["content_type"] == "image/png"
        return result_file_response(entry, inline=inline)

    def _url_prefix(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}"

    @admin.display(description="result")
    def download_link(self, obj) -> str:
        """The main result file to download, from the list (a report, an export), while it is kept."""
        if obj.status != JobStatus.COMPLETED or obj.main_file is None or obj.files_expired:
            return "-"
        url = reverse(f"admin:{self._url_prefix()}_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.main_file["name"])

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

    @admin.display(description="result files")
    def files_display(self, obj) -> str:
        """Each result file as a link; images (charts) shown as well."""
        if not obj.files:
            return "-"
        if obj.status != JobStatus.COMPLETED:
            return ", ".join(entry["name"] for entry in obj.files)
        items = []
        for entry in obj.files:
            url = reverse(f"admin:{self._url_prefix()}_file", args=[obj.pk, entry["name"]])
            link = format_html('<a href="{}">{}</a> ({}, {} bytes)', url, entry["title"], entry["name"], entry["size"])
            if entry["content_type"] == "image/png":
                image = '{}<br><img src="{}?inline=1" alt="{}" style="max-width:100%;height:auto">'
                link = format_html(image, link, url, entry["title"])
            items.append(format_html("<li>{}</li>", link))
        return format_html('<ul class="job-files">{}</ul>', format_html_join("", "{}", ((item,) for item in items)))

    @admin.display(description="log")
    def log_display(self, obj) -> str:
        return log_table(obj.log)


def register_job_admins(site: admin.AdminSite = admin.site) -> None:
    """A JobAdmin for every declared job kind that its app did not register itself."""
    from terrafusion.jobs.registry import job_kinds

    for kind in job_kinds():
        if not site.is_registered(kind.model):
            site.register(kind.model, type(f"{kind.model.__name__}Admin", (JobAdmin,), {"job_kind": kind}))


__all__ = [
    "CountyListFilter",
    "CountyScopedAdmin",
    "CountyScopedImportExportAdmin",
    "CountyScopedInline",
    "CountyScopedRelatedListFilter",
    "CountyScopedTabularInline",
    "JobAdmin",
    "county_id_of",
    "html_table",
    "json_block",
    "log_table",
    "register_job_admins",
]
