"""Admin for parcels, their value history, sales, neighborhoods and the audit trail, scoped to the user's counties.

Every change of a property made here goes through the audit: the property form saves through
`properties.services.property_update` (one write, one PropertyChange with old -> new and the user), a new
property records its creation, and edits of value-history rows record a PropertyChange too.
"""

from django import forms
from django.contrib import admin
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from shapely.errors import ShapelyError

from properties.choices import ValueSource
from properties.geometry import wkb_to_svg
from properties.models import VALUE_FIELDS, Neighborhood, Property, PropertyChange, PropertyValue, Sale
from properties.resources import PropertyResource, SaleResource
from properties.services import (
    EDITABLE_FIELDS,
    Actor,
    property_record_creation,
    property_update,
    property_value_record,
    record_change,
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
    fields = (
        "roll_year",
        "source",
        "land_value",
        "improvement_value",
        "market_value",
        "assessed_value",
        "is_certified",
        "job_id",
        "updated_at",
    )
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
        fields = (
            "sale_id",
            "sale_date",
            "sale_price",
            "adjusted_price",
            "deed_type",
            "validity_code",
            "is_valid",
            "excise_number",
            "is_multi_parcel",
        )

    def __init__(self, *args, county_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        if county_id is not None:
            self.instance.county_id = county_id

    def clean(self):
        cleaned = super().clean()
        sale_id = cleaned.get("sale_id")
        county_id = self.instance.county_id
        if sale_id is not None and county_id is not None:
            duplicate = Sale.objects.filter(county_id=county_id, sale_id=sale_id).exclude(pk=self.instance.pk)
            if duplicate.exists():
                self.add_error("sale_id", "Another sale in this county already has this legacy sale id.")
        return cleaned


class SaleInline(CountyScopedTabularInline):
    """The property's sales: editable by users who may change data in the property's county."""

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


class PropertyAdminForm(SameCountyForm):
    same_county_fields = ("neighborhood",)

    class Meta:
        model = Property
        # Geometry is drawn (readonly `shape`), never edited as raw WKB bytes: loads and the API (GeoJSON) set it.
        fields = ("county", "property_id", *(f for f in EDITABLE_FIELDS if f != "geometry"))


@admin.register(Property)
class PropertyAdmin(CountyScopedImportExportAdmin):
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
        (
            "Identification",
            {"fields": ("county", "property_id", "parcel_number", "property_type", "class_code", "is_active")},
        ),
        (
            "Location",
            {
                "fields": (
                    "neighborhood",
                    "situs_address",
                    ("situs_city", "situs_zip"),
                    "legal_description",
                    ("latitude", "longitude"),
                    "shape",
                )
            },
        ),
        ("Owner", {"fields": ("owner_name", "owner_address")}),
        (
            "Characteristics",
            {
                "fields": (
                    ("land_area_sqft", "acreage"),
                    "living_area",
                    ("year_built", "effective_year"),
                    ("bedrooms", "bathrooms"),
                    ("quality", "condition"),
                )
            },
        ),
        (
            "Values",
            {
                "fields": (
                    ("land_value", "improvement_value"),
                    ("market_value", "assessed_value"),
                    "value_year",
                    ("last_sale_date", "last_sale_price"),
                )
            },
        ),
        ("Source", {"fields": ("source_system", "source_row_hash", ("created_at", "updated_at"))}),
        ("Recent changes", {"fields": ("recent_changes",)}),
    )
    readonly_fields = (
        "latitude",
        "longitude",
        "shape",
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
            queryset = queryset.defer("geometry", "legal_description", "owner_address")
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
            if obj.value_year is None and any(getattr(obj, field) is not None for field in VALUE_FIELDS):
                obj.value_year = obj.county.working_roll_year  # values belong to a roll year
            with transaction.atomic():
                obj.save()
                property_record_creation(prop=obj, actor=actor)
                if any(getattr(obj, field) is not None for field in VALUE_FIELDS):
                    property_value_record(prop=obj, source=ValueSource.MANUAL)
            return
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE_FIELDS}
        if data:
            property_update(prop=obj, data=data, actor=actor)  # locks and diffs against the row as it is now

    def save_formset(self, request, form, formset, change):
        if formset.model is Sale:
            for sale_form in formset.forms:
                sale_form.instance.county_id = form.instance.county_id
        super().save_formset(request, form, formset, change)


# --- Sales -----------------------------------------------------------------------------------


class SaleAdminForm(SameCountyForm):
    same_county_fields = ("property",)

    class Meta:
        model = Sale
        fields = ("county", "property", *SaleInlineForm.Meta.fields)


@admin.register(Sale)
class SaleAdmin(CountyScopedImportExportAdmin):
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


# --- Value history ---------------------------------------------------------------------------


@admin.register(PropertyValue)
class PropertyValueAdmin(CountyScopedAdmin):
    """Read-mostly: the value history. Only uncertified manual rows may be corrected, and that is audited."""

    list_display = (
        "property",
        "county",
        "roll_year",
        "source",
        "land_value",
        "improvement_value",
        "market_value",
        "assessed_value",
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
        self.check_can_save(request, obj)
        with transaction.atomic():
            before = PropertyValue.objects.select_for_update().get(pk=obj.pk)
            prefix = f"values[{obj.roll_year}/{obj.source}]"
            changes = {
                f"{prefix}.{field}": {"old": getattr(before, field), "new": getattr(obj, field)}
                for field in VALUE_FIELDS
                if getattr(before, field) != getattr(obj, field)
            }
            if not changes:
                return
            obj.save()
            record_change(prop=obj.property, changes=changes, actor=Actor.for_user(request.user, ADMIN_SOURCE))


# --- Audit trail -----------------------------------------------------------------------------


@admin.register(PropertyChange)
class PropertyChangeAdmin(CountyScopedAdmin):
    """The audit trail: read only for everyone, superusers included."""

    read_only = True
    list_display = ("changed_at", "property", "county", "actor_kind", "user", "source", "fields_changed")
    list_filter = (("county", CountyListFilter), "actor_kind", "changed_at")
    list_select_related = ("county", "property", "user")
    search_fields = ("^property__parcel_number", "source")
    fields = ("property", "county", "changed_at", "actor_kind", "user", "job_id", "source", "changes_display")
    readonly_fields = ("changes_display",)

    @admin.display(description="fields")
    def fields_changed(self, obj) -> str:
        return _short(", ".join(obj.changes or {}), 100)

    @admin.display(description="changes (old -> new)")
    def changes_display(self, obj) -> str:
        return changes_table(obj.changes)
