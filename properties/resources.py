"""django-import-export resources for parcels and sales, used by the admin's import (dry run, then confirm).

- The `county` column is the county slug, resolved only among the counties where the importing user may
  change data: an unknown county, or one the user may not change, is a row error, never a crash.
- Rows are identified by (county slug, property_id) for properties and (county slug, sale_id) for sales.
- Every property created or changed by an import is audited: a PropertyChange (actor kind "import", the
  user, source = the file name) with old -> new per field, and changed current values also land in the
  property's value history as an `import` row for the roll year.
- Export goes through the same resources and contains only the counties the user may view.
"""

from typing import Any

from django.core.exceptions import ValidationError
from import_export import fields, resources
from import_export.widgets import ForeignKeyWidget

from counties.models import County
from properties.choices import ActorKind, ValueSource
from properties.models import VALUE_FIELDS, Neighborhood, Property, Sale
from properties.services import (
    Actor,
    changes_between,
    property_record_creation,
    property_snapshot,
    property_value_record,
    record_change,
)

ADMIN_IMPORT_SOURCE = "admin import"


def _cell_text(value: Any) -> str:
    """A cell as text; spreadsheets turn codes like 101 into 101.0, which is still the code 101."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


class CountySlugWidget(ForeignKeyWidget):
    """The `county` column: a county slug, found only among the counties the importing user may change."""

    def __init__(self, **kwargs):
        super().__init__(County, field="slug", **kwargs)
        self.user = None  # set by the resource; without a user no county resolves (fail closed)
        self._found: dict[str, County] = {}

    def get_queryset(self, value, row, *args, **kwargs):
        return County.objects.restrict(self.user, "change")

    def clean(self, value, row=None, **kwargs):
        slug = _cell_text(value)
        if not slug:
            raise ValueError("The county slug is required, e.g. benton-wa.")
        if slug not in self._found:
            try:
                self._found[slug] = self.get_queryset(slug, row).get(slug=slug)
            except County.DoesNotExist:
                if County.objects.filter(slug=slug).exists():
                    raise ValueError(f"You may not change data in county {slug!r}.") from None
                raise ValueError(f"Unknown county {slug!r}.") from None
        return self._found[slug]


class InCountyWidget(ForeignKeyWidget):
    """A foreign key given by a key that is unique within a county (neighborhood code, property id)."""

    def __init__(self, model, field: str, label: str, *, integer: bool = False, **kwargs):
        super().__init__(model, field=field, **kwargs)
        self.label = label
        self.integer = integer

    def get_queryset(self, value, row, *args, **kwargs):
        return self.model.objects.filter(county__slug=_cell_text((row or {}).get("county")))

    def clean(self, value, row=None, **kwargs):
        key = _cell_text(value)
        if not key:
            return None
        if self.integer:
            try:
                key = int(key)
            except ValueError:
                raise ValueError(f"{self.label.capitalize()} {key!r} is not a whole number.") from None
        try:
            return self.get_queryset(key, row).get(**{self.field: key})
        except self.model.DoesNotExist:
            county = _cell_text((row or {}).get("county"))
            raise ValueError(f"Unknown {self.label} {key!r} in county {county!r}.") from None


class CountyScopedResource(resources.ModelResource):
    """Base for county-scoped resources: knows the user, checks each row's county, exports visible rows only."""

    county = fields.Field(attribute="county", column_name="county", widget=CountySlugWidget())
    required_id_fields: tuple[str, ...] = ()  # import id fields that must not be empty (besides county)

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.fields["county"].widget.user = user

    def get_queryset(self):
        # The rows an import may update: counties where the user may change data.
        return super().get_queryset().restrict(self.user, "change").select_related("county")

    def filter_export(self, queryset, **kwargs):
        # The admin passes its restricted changelist queryset; restrict again so no caller can widen it.
        return queryset.restrict(self.user, "view")

    def before_import_row(self, row, **kwargs):
        """Resolve the row's identity first, so a bad county or key is a readable row error."""
        errors = {}
        for name in self.get_import_id_fields():
            field = self.fields[name]
            if field.column_name not in row:
                continue  # the whole file lacks the column: reported once by _check_import_id_fields
            try:
                value = field.clean(row, **kwargs)
            except ValueError as error:
                errors[name] = str(error)
                continue
            except ArithmeticError:  # decimal.InvalidOperation from the number widgets
                errors[name] = f"{row.get(field.column_name)!r} is not a number."
                continue
            if value is None and name in self.required_id_fields:
                errors[name] = f"The {field.column_name} column identifies the row; it cannot be empty."
        if errors:
            raise ValidationError(errors)

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        try:
            super().import_field(field, instance, row, is_m2m, **kwargs)
        except ArithmeticError:  # decimal.InvalidOperation from the number widgets: a cell that is not a number
            raise ValueError(f"{row.get(field.column_name)!r} is not a number.") from None

    def import_actor(self, kwargs: dict) -> Actor:
        """Who made an import's changes: the importing user, with the file name as the source."""
        return Actor(
            kind=ActorKind.IMPORT,
            user=kwargs.get("user") or self.user,
            source=kwargs.get("file_name") or ADMIN_IMPORT_SOURCE,
        )

    @staticmethod
    def nothing_saved(kwargs: dict) -> bool:
        """A dry run without transactions does not save (with transactions it saves, then rolls back)."""
        return bool(kwargs.get("dry_run")) and not kwargs.get("using_transactions")


class PropertyResource(CountyScopedResource):
    neighborhood = fields.Field(
        attribute="neighborhood",
        column_name="neighborhood",
        widget=InCountyWidget(Neighborhood, "code", "neighborhood code"),
    )
    required_id_fields = ("property_id",)

    class Meta:
        model = Property
        name = "Properties (county slug + property id)"
        fields = (
            "county", "property_id", "parcel_number", "property_type", "class_code", "neighborhood",
            "situs_address", "situs_city", "situs_zip", "owner_name", "owner_address", "legal_description",
            "land_area_sqft", "acreage", "living_area", "year_built", "effective_year", "bedrooms", "bathrooms",
            "quality", "condition", *VALUE_FIELDS, "value_year", "last_sale_date", "last_sale_price", "is_active",
        )  # fmt: skip
        import_id_fields = ("county", "property_id")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True

    def filter_export(self, queryset, **kwargs):
        return super().filter_export(queryset, **kwargs).select_related("county", "neighborhood").defer("geometry")

    def after_init_instance(self, instance, new, row, **kwargs):
        # The state before the row is applied: what the audit compares against.
        instance._import_before = None if new else property_snapshot(instance)

    def before_save_instance(self, instance, row, **kwargs):
        before = getattr(instance, "_import_before", None) or {}
        values_changed = any(before.get(f) != getattr(instance, f) for f in VALUE_FIELDS)
        if values_changed and instance.value_year is None:
            # Values belong to a roll year; without one in the file they are the county's working year's.
            instance.value_year = instance.county.working_roll_year

    def after_save_instance(self, instance, row, **kwargs):
        if self.nothing_saved(kwargs):
            return
        before = getattr(instance, "_import_before", None)
        if before is None:
            change = property_record_creation(prop=instance, actor=self.import_actor(kwargs))
        else:
            changes = changes_between(before, property_snapshot(instance))
            if not changes:
                return
            change = record_change(prop=instance, changes=changes, actor=self.import_actor(kwargs))
        if change.changes.keys() & set(VALUE_FIELDS):
            property_value_record(prop=instance, source=ValueSource.IMPORT)
        instance._import_before = property_snapshot(instance)


class SaleResource(CountyScopedResource):
    property = fields.Field(
        attribute="property",
        column_name="property_id",
        widget=InCountyWidget(Property, "property_id", "property id", integer=True),
    )
    parcel_number = fields.Field(attribute="property__parcel_number", column_name="parcel_number", readonly=True)
    required_id_fields = ("sale_id",)

    class Meta:
        model = Sale
        name = "Sales (county slug + sale id)"
        fields = (
            "county", "sale_id", "property", "parcel_number", "sale_date", "sale_price", "adjusted_price",
            "deed_type", "validity_code", "is_valid", "excise_number", "is_multi_parcel",
        )  # fmt: skip
        import_id_fields = ("county", "sale_id")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True

    def filter_export(self, queryset, **kwargs):
        return super().filter_export(queryset, **kwargs).select_related("county", "property")
