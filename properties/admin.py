"""Admin for parcels, their value history, sales, neighborhoods and the audit trail, scoped to the user's counties.

Every write made here goes through `properties.services` and leaves a PropertyChange (old -> new, the user,
source "admin"): a parcel's creation, change and deletion, a sale added, changed or deleted on the sales
page or in the property page's inline, a correction of a manual value-history row. A refusal that the
services find only under the row lock (a concurrent edit broke "land + improvements = market", a parcel
that gained certified values) is shown as an error message, never a 500.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from shapely.errors import ShapelyError

from properties.choices import ValueSource
from properties.fields import (
    CENTROID_FIELDS,
    CHARACTERISTIC_FIELDS,
    CURRENT_VALUE_FIELDS,
    IDENTIFICATION_FIELDS,
    LAST_SALE_FIELDS,
    LIST_DEFERRED_FIELDS,
    LOCATION_FIELDS,
    OWNER_FIELDS,
    PROPERTY_EDITABLE_FIELDS,
    PROPERTY_KEY_FIELDS,
    SALE_EDITABLE_FIELDS,
    VALUE_FIELDS,
)
from properties.geometry import wkb_to_svg
from properties.models import Neighborhood, Property, PropertyChange, PropertyValue, Sale
from properties.resources import PropertyResource, SaleResource
from properties.services import (
    VALUES_THAT_ADD_UP,
    Actor,
    property_create,
    property_delete,
    property_delete_many,
    property_deletion_blockers,
    property_update,
    property_value_update,
    property_values_check,
    sale_create,
    sale_delete,
    sale_delete_many,
    sale_update,
)
from terrafusion.admin import (
    CountyListFilter,
    CountyScopedAdmin,
    CountyScopedImportExportAdmin,
    CountyScopedRelatedListFilter,
    CountyScopedTabularInline,
)

ADMIN_SOURCE = "admin"
RECENT_CHANGES_SHOWN = 20


def _money(value) -> str:
    return "-" if value is None else f"${value:,}"


def _short(value, limit: int = 80) -> str:
    if value is None:
        return "-"
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _who(change: PropertyChange) -> str:
    if change.user_id is not None:
        return change.user.get_username()
    if change.job_id is not None:
        return f"{change.get_actor_kind_display()} {change.job_id}"
    return change.get_actor_kind_display()


def _change_rows(changes: list[PropertyChange]):
    """(when, who, source, field, old, new) for each field of each change: one table row per changed field."""
    for change in changes:
        when = localtime(change.changed_at).strftime("%Y-%m-%d %H:%M")
        for field, values in change.changes.items():
            if isinstance(values, dict):
                yield when, _who(change), change.source, field, _short(values.get("old")), _short(values.get("new"))


def changes_table(changes: dict) -> str:
    """A PropertyChange's {"field": {"old": ..., "new": ...}} as an escaped field / old / new table."""
    if not changes:
        return "-"
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (field, _short(change.get("old")), _short(change.get("new")))
            for field, change in changes.items()
            if isinstance(change, dict)
        ),
    )
    return format_html(
        '<table class="tf-changes"><thead><tr><th>Field</th><th>Old</th><th>New</th></tr></thead>'
        "<tbody>{}</tbody></table>",
        rows,
    )


class ServiceWritesAdmin:
    """Mixin for admins that write through the services: their late refusals as messages, bulk deletes checked."""

    def changeform_view(self, request, *args, **kwargs):
        try:
            return super().changeform_view(request, *args, **kwargs)
        except ValidationError as error:  # found under the row lock, after the form was valid; nothing was written
            return self.refused(request, error)

    def delete_view(self, request, *args, **kwargs):
        try:
            return super().delete_view(request, *args, **kwargs)
        except ValidationError as error:
            return self.refused(request, error)

    def changelist_view(self, request, *args, **kwargs):
        try:
            return super().changelist_view(request, *args, **kwargs)  # actions, e.g. "delete selected"
        except ValidationError as error:
            return self.refused(request, error)

    def refused(self, request, error: ValidationError) -> HttpResponseRedirect:
        messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(request.get_full_path())


class ValuesAddUpForm(forms.ModelForm):
    """Early feedback on "land + improvements = market"; the service checks it again under the row lock."""

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None and not set(VALUES_THAT_ADD_UP) & set(self.changed_data):
            return cleaned  # values not touched: an old row that does not add up can still be edited otherwise
        if any(field in self._errors for field in VALUES_THAT_ADD_UP):
            return cleaned  # a bad value already has its own error
        land, improvement, market = (cleaned.get(field, getattr(self.instance, field)) for field in VALUES_THAT_ADD_UP)
        try:
            property_values_check(land=land, improvement=improvement, market=market)
        except ValidationError as error:
            self.add_error(None, error)
        return cleaned


# --- Neighborhoods ---------------------------------------------------------------------------


@admin.register(Neighborhood)
class NeighborhoodAdmin(CountyScopedAdmin):
    list_display = ("code", "name", "county")
    list_filter = (("county", CountyListFilter),)
    list_select_related = ("county",)
    search_fields = ("code", "name")
    ordering = ("county__name", "code")
    fields = ("county", "code", "name")


# --- Properties ------------------------------------------------------------------------------


class PropertyValueInline(CountyScopedTabularInline):
    """The value history: read only here (values change through the property's fields, jobs and loads)."""

    model = PropertyValue
    read_only = True
    extra = 0
    ordering = ("-roll_year", "source")
    show_change_link = True
    fields = ("roll_year", "source", *VALUE_FIELDS, "is_certified", "job_id", "updated_at")
    readonly_fields = fields
    verbose_name = "value"
    verbose_name_plural = "value history"


class SaleInlineFormSet(BaseInlineFormSet):
    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "county_id": self.instance.county_id}


class SaleInlineForm(forms.ModelForm):
    """A sale on the property page: its county is the property's, and its legacy id is unique in that county."""

    class Meta:
        model = Sale
        fields = SALE_EDITABLE_FIELDS

    def __init__(self, *args, county_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        if county_id is not None:
            self.instance.county_id = county_id

    def clean(self):
        cleaned = super().clean()
        sale_id = cleaned.get("sale_id")
        county_id = self.instance.county_id
        prop = cleaned.get("property") or getattr(self.instance, "property", None)
        if sale_id is not None and county_id is not None and prop is not None:
            duplicate = Sale.objects.filter(county_id=county_id, property=prop, sale_id=sale_id).exclude(
                pk=self.instance.pk
            )
            if duplicate.exists():
                self.add_error("sale_id", "This parcel already has a sale with this legacy sale id.")
        return cleaned


class SaleInline(CountyScopedTabularInline):
    """The property's sales: editable by users who may change data in the property's county.

    Saved through the sale services by PropertyAdmin.save_formset (audited, last sale kept right).
    """

    model = Sale
    form = SaleInlineForm
    formset = SaleInlineFormSet
    extra = 0
    show_change_link = True
    fields = SaleInlineForm.Meta.fields


class SameCountyForm(forms.ModelForm):
    """A form whose related objects (`same_county_fields`) must be in the object's own county."""

    same_county_fields: tuple[str, ...] = ()

    def clean(self):
        cleaned = super().clean()
        county = cleaned.get("county")
        county_id = county.pk if county is not None else self.instance.county_id
        for name in self.same_county_fields:
            related = cleaned.get(name)
            if related is not None and county_id is not None and related.county_id != county_id:
                self.add_error(name, f"This {related._meta.verbose_name} belongs to another county.")
        return cleaned


class PropertyAdminForm(SameCountyForm, ValuesAddUpForm):
    same_county_fields = ("neighborhood",)

    class Meta:
        model = Property
        # Geometry is drawn (readonly `shape`), never edited as raw WKB bytes: loads and the API (GeoJSON) set it.
        fields = (*PROPERTY_KEY_FIELDS, *(f for f in PROPERTY_EDITABLE_FIELDS if f != "geometry"))


@admin.register(Property)
class PropertyAdmin(ServiceWritesAdmin, CountyScopedImportExportAdmin):
    form = PropertyAdminForm
    resource_classes = [PropertyResource]
    list_display = (
        "parcel_number",
        "situs_address",
        "owner_name",
        "class_code",
        "neighborhood",
        "market_value_display",
        "value_year",
        "is_active",
        "county",
    )
    list_filter = (
        ("county", CountyListFilter),
        ("neighborhood", CountyScopedRelatedListFilter),
        "class_code",
        "property_type",
        "is_active",
    )
    list_select_related = ("county", "neighborhood")
    search_fields = ("^parcel_number", "situs_address", "owner_name")
    search_help_text = "Parcel number (from its start), situs address or owner name."
    inlines = (PropertyValueInline, SaleInline)
    fieldsets = (
        ("Identification", {"fields": (*PROPERTY_KEY_FIELDS, *IDENTIFICATION_FIELDS, "is_active")}),
        ("Location", {"fields": (*LOCATION_FIELDS, CENTROID_FIELDS, "shape")}),
        ("Owner", {"fields": OWNER_FIELDS}),
        ("Characteristics", {"fields": CHARACTERISTIC_FIELDS}),
        ("Values", {"fields": (*CURRENT_VALUE_FIELDS, LAST_SALE_FIELDS)}),
        ("Source", {"fields": ("source_system", "source_row_hash", ("created_at", "updated_at"))}),
        ("Recent changes", {"fields": ("recent_changes",)}),
    )
    readonly_fields = (
        *CENTROID_FIELDS,
        "shape",
        *LAST_SALE_FIELDS,  # derived from the sales below
        "source_system",
        "source_row_hash",
        "created_at",
        "updated_at",
        "recent_changes",
    )

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.is_list_request(request):
            # Lists never show the polygon or the long texts; don't read them for 100 rows per page.
            queryset = queryset.defer(*LIST_DEFERRED_FIELDS)
        return queryset

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly.append("property_id")  # the legacy key: fixed once the parcel exists
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        neighborhood = form.base_fields.get("neighborhood")
        if obj is not None and neighborhood is not None:
            neighborhood.queryset = neighborhood.queryset.filter(county_id=obj.county_id)
        return form

    def get_search_results(self, request, queryset, search_term):
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "autocomplete":
            # Picking a parcel for a sale: offer only parcels the user may change.
            queryset = queryset.restrict(request.user, "change")
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="market value", ordering="market_value")
    def market_value_display(self, obj) -> str:
        return _money(obj.market_value)

    @admin.display(description="parcel shape")
    def shape(self, obj) -> str:
        if obj is None or not obj.geometry:
            return "No geometry on file."
        try:
            svg = wkb_to_svg(obj.geometry, size=320)
        except (ShapelyError, ValueError, TypeError):
            return "The stored geometry could not be drawn."
        # wkb_to_svg builds the markup itself from numbers only (coordinates, sizes); no stored text reaches it.
        return format_html('<div class="tf-parcel-shape">{}</div>', mark_safe(svg))  # noqa: S308

    @admin.display(description=f"last {RECENT_CHANGES_SHOWN} changes")
    def recent_changes(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "-"
        recent = list(PropertyChange.objects.filter(property=obj).select_related("user")[:RECENT_CHANGES_SHOWN])
        if not recent:
            return "No changes recorded."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            _change_rows(recent),
        )
        all_changes = reverse("admin:properties_propertychange_changelist") + f"?property__id__exact={obj.pk}"
        return format_html(
            '<table class="tf-changes"><thead><tr><th>When</th><th>Who</th><th>Source</th><th>Field</th>'
            "<th>Old</th><th>New</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}">All changes of this property</a></p>',
            rows,
            all_changes,
        )

    def save_model(self, request, obj, form, change):
        """Save through the audit: one write and one PropertyChange (old -> new, the user, source "admin")."""
        self.check_can_save(request, obj)
        actor = Actor.for_user(request.user, ADMIN_SOURCE)
        if not change:
            property_create(prop=obj, actor=actor)
            return
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in PROPERTY_EDITABLE_FIELDS}
        if data:
            property_update(prop=obj, data=data, actor=actor)  # locks and diffs against the row as it is now

    def save_formset(self, request, form, formset, change):
        """The sales inline saves through the sale services: each added, changed or deleted sale is audited."""
        if formset.model is not Sale:
            return super().save_formset(request, form, formset, change)
        actor = Actor.for_user(request.user, ADMIN_SOURCE)
        formset.save(commit=False)  # sorts the forms into new, changed and deleted objects, writing nothing
        for sale in formset.deleted_objects:
            sale_delete(sale=sale, actor=actor)
        for sale, changed in formset.changed_objects:
            data = {name: getattr(sale, name) for name in changed if name in SALE_EDITABLE_FIELDS}
            sale_update(sale=sale, data=data, actor=actor)
        for sale in formset.new_objects:
            sale_create(sale=sale, actor=actor)

    def get_deleted_objects(self, objs, request):
        """Django's delete confirmation, with certified values as what protects a parcel (deactivate it instead).

        The parcel's values are deleted with it through the service, which records them, so the value history's
        own "no delete" (no one deletes a value row on its own) does not stand in the way.
        """
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(PropertyValue._meta.verbose_name)
        protected = [*protected, *property_deletion_blockers(property_ids=[obj.pk for obj in objs])]
        return to_delete, model_count, perms_needed, protected

    def delete_model(self, request, obj):
        """Delete through the service: the parcel, its values and sales recorded first on its (surviving) trail."""
        self.check_can_save(request, obj)
        property_delete(prop=obj, actor=Actor.for_user(request.user, ADMIN_SOURCE))

    def delete_queryset(self, request, queryset):
        self.check_can_delete_all(request, queryset)
        property_delete_many(properties=queryset, actor=Actor.for_user(request.user, ADMIN_SOURCE))


# --- Sales -----------------------------------------------------------------------------------


class SaleAdminForm(SameCountyForm):
    same_county_fields = ("property",)

    class Meta:
        model = Sale
        fields = ("county", "property", *SALE_EDITABLE_FIELDS)


@admin.register(Sale)
class SaleAdmin(ServiceWritesAdmin, CountyScopedImportExportAdmin):
    form = SaleAdminForm
    resource_classes = [SaleResource]
    list_display = (
        "sale_date",
        "property",
        "county",
        "sale_price_display",
        "validity_code",
        "is_valid",
        "is_multi_parcel",
        "sale_id",
    )
    list_filter = (("county", CountyListFilter), "is_valid", "is_multi_parcel")
    list_select_related = ("county", "property")
    date_hierarchy = "sale_date"
    search_fields = ("^property__parcel_number", "excise_number")
    search_help_text = "Parcel number (from its start), excise number or legacy sale id."
    autocomplete_fields = ("property",)
    fieldsets = (
        (None, {"fields": ("county", "property", "sale_id", "sale_date")}),
        ("Price", {"fields": ("sale_price", "adjusted_price")}),
        ("Qualification", {"fields": ("deed_type", "validity_code", "is_valid", "is_multi_parcel", "excise_number")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    readonly_fields = ("created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly.append("property")  # a sale stays with its parcel; record a new sale instead
        return readonly

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isdigit():
            queryset |= self.get_queryset(request).filter(sale_id=int(term))
        return queryset, may_have_duplicates

    @admin.display(description="sale price", ordering="sale_price")
    def sale_price_display(self, obj) -> str:
        return _money(obj.sale_price)

    def save_model(self, request, obj, form, change):
        """Save through the sale services: audited on the parcel's trail, the parcel's last sale kept right."""
        self.check_can_save(request, obj)
        actor = Actor.for_user(request.user, ADMIN_SOURCE)
        if not change:
            sale_create(sale=obj, actor=actor)
            return
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in SALE_EDITABLE_FIELDS}
        if data:
            sale_update(sale=obj, data=data, actor=actor)

    def delete_model(self, request, obj):
        self.check_can_save(request, obj)
        sale_delete(sale=obj, actor=Actor.for_user(request.user, ADMIN_SOURCE))

    def delete_queryset(self, request, queryset):
        self.check_can_delete_all(request, queryset)
        sale_delete_many(sales=queryset, actor=Actor.for_user(request.user, ADMIN_SOURCE))


# --- Value history ---------------------------------------------------------------------------


class PropertyValueAdminForm(ValuesAddUpForm):
    class Meta:
        model = PropertyValue
        fields = VALUE_FIELDS


@admin.register(PropertyValue)
class PropertyValueAdmin(ServiceWritesAdmin, CountyScopedAdmin):
    """Read-mostly: the value history. Only uncertified manual rows may be corrected, and that is audited."""

    form = PropertyValueAdminForm

    list_display = (
        "property",
        "county",
        "roll_year",
        "source",
        *VALUE_FIELDS,
        "is_certified",
        "updated_at",
    )
    list_filter = (("county", CountyListFilter), "roll_year", "source", "is_certified")
    list_select_related = ("county", "property")
    search_fields = ("^property__parcel_number",)
    fields = (
        "property",
        "county",
        "roll_year",
        "source",
        *VALUE_FIELDS,
        "is_certified",
        "job_id",
        "created_at",
        "updated_at",
    )
    readonly_fields = tuple(field for field in fields if field not in VALUE_FIELDS)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and (obj.is_certified or obj.source != ValueSource.MANUAL):
            return False  # certified values, and values from PACS, models and files, are the record as made
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        """Save through the service: locked with its parcel, re-read, checked, audited on the parcel's trail."""
        self.check_can_save(request, obj)
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in VALUE_FIELDS}
        if data:
            property_value_update(value=obj, data=data, actor=Actor.for_user(request.user, ADMIN_SOURCE))


# --- Audit trail -----------------------------------------------------------------------------


@admin.register(PropertyChange)
class PropertyChangeAdmin(CountyScopedAdmin):
    """The audit trail: read only for everyone, superusers included."""

    read_only = True
    list_display = (
        "changed_at",
        "property",
        "property_key",
        "county",
        "actor_kind",
        "user",
        "source",
        "fields_changed",
    )
    list_filter = (("county", CountyListFilter), "actor_kind", "changed_at")
    list_select_related = ("county", "property", "user")
    # The property id finds the trail of a deleted parcel too (its link is cleared, its key kept).
    search_fields = ("^property__parcel_number", "=property_key", "source")
    search_help_text = "Parcel number (from its start), property id or source."
    fields = (
        "property",
        "property_key",
        "county",
        "changed_at",
        "actor_kind",
        "user",
        "job_id",
        "source",
        "changes_display",
    )
    readonly_fields = ("changes_display",)

    @admin.display(description="fields")
    def fields_changed(self, obj) -> str:
        return _short(", ".join(obj.changes or {}), 100)

    @admin.display(description="changes (old -> new)")
    def changes_display(self, obj) -> str:
        return changes_table(obj.changes)
