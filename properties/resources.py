"""django-import-export resources for parcels and sales, used by the admin's import (dry run, then confirm).

- The `county` column is the county slug, resolved only among the counties where the importing user may
  change data: any other slug (unknown, or a county the user may not change) is one and the same row error,
  so a file cannot probe which counties exist.
- Rows are identified by (county slug, property_id) for properties and (county slug, sale_id) for sales.
- Each existing row is locked and read fresh before the file's values are applied to it (a parcel's row; for
  a sale, its parcel's row, which is the lock of everything of the parcel), as `property_update` does.
- Rows are saved through the services (properties.services): the same validation (land + improvements =
  market, under the lock), one audit row each (actor kind "import", the user, source = the file name), changed
  current values in the value history as an `import` row, and a parcel's last sale kept right by its sales.
- Export goes through the same resources and contains only the counties the user may view.
"""

from typing import Any

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets
from import_export.instance_loaders import ModelInstanceLoader

from counties.models import County
from properties.choices import ActorKind, ValueSource
from properties.fields import LAST_SALE_FIELDS, PROPERTY_EDITABLE_FIELDS, PROPERTY_KEY_FIELDS, SALE_EDITABLE_FIELDS
from properties.models import Neighborhood, Property, Sale
from properties.services import (
    Actor,
    property_create,
    property_snapshot,
    property_update,
    sale_create,
    sale_update,
)

ADMIN_IMPORT_SOURCE = "admin import"


def _cell_text(value: Any) -> str:
    """A cell as text; spreadsheets turn codes like 101 into 101.0, which is still the code 101."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


class CountySlugWidget(widgets.ForeignKeyWidget):
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
                # One message for a county that does not exist and one the user may not change: the import must
                # not reveal which counties exist (the API hides them the same way).
                raise ValueError(f"No county {slug!r} where you may change data.") from None
        return self._found[slug]


class InCountyWidget(widgets.ForeignKeyWidget):
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


class LockingInstanceLoader(ModelInstanceLoader):
    """Finds a row's existing object locked (SELECT ... FOR UPDATE) and read fresh, in one query.

    `lock_of` names what is locked: the parcel itself, or for a sale its parcel (all writes of a parcel's sales
    lock the parcel first, so sales imports and admin edits take their locks in the same order).
    """

    def get_queryset(self):
        return self.resource.get_queryset().select_for_update(of=self.resource.lock_of)


class CountyScopedResource(resources.ModelResource):
    """Base for county-scoped resources: knows the user, checks each row's county, exports visible rows only."""

    county = fields.Field(attribute="county", column_name="county", widget=CountySlugWidget())
    required_id_fields: tuple[str, ...] = ()  # import id fields that must not be empty (besides county)
    lock_of: tuple[str, ...] = ("self",)  # what LockingInstanceLoader locks: see there

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

    def after_init_instance(self, instance, new, row, **kwargs):
        # The state the file's row is applied to (read under the row's lock): what the changes are taken against.
        instance._import_before = None if new else self.import_snapshot(instance)

    def import_snapshot(self, instance) -> dict[str, Any]:
        raise NotImplementedError

    def import_changes(self, instance) -> dict[str, Any]:
        """{field: new value} for each editable field the file's row changed."""
        before = instance._import_before
        after = self.import_snapshot(instance)
        return {field: getattr(instance, field) for field, value in after.items() if before.get(field) != value}

    def save_instance(self, instance, is_create, row, **kwargs):
        """Save through the services (lock, rules, audit); a dry run without transactions saves nothing."""
        if self.nothing_saved(kwargs):
            return
        self.service_save(instance, is_create=is_create, actor=self.import_actor(kwargs))

    def service_save(self, instance, *, is_create: bool, actor: Actor) -> None:
        raise NotImplementedError


def _export_only(name: str, widget) -> fields.Field:
    return fields.Field(attribute=name, column_name=name, widget=widget, readonly=True)


class PropertyResource(CountyScopedResource):
    neighborhood = fields.Field(
        attribute="neighborhood",
        column_name="neighborhood",
        widget=InCountyWidget(Neighborhood, "code", "neighborhood code"),
    )
    # Derived from the parcel's sales (import sales to change them): exported, never imported.
    last_sale_date = _export_only("last_sale_date", widgets.DateWidget())
    last_sale_price = _export_only("last_sale_price", widgets.IntegerWidget())
    required_id_fields = ("property_id",)

    class Meta:
        model = Property
        name = "Properties (county slug + property id)"
        # Every editable field but the polygon (loads and the API carry geometry; a spreadsheet cannot).
        fields = (
            *PROPERTY_KEY_FIELDS,
            *(field for field in PROPERTY_EDITABLE_FIELDS if field != "geometry"),
            *LAST_SALE_FIELDS,
        )
        import_id_fields = PROPERTY_KEY_FIELDS
        instance_loader_class = LockingInstanceLoader
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True

    def filter_export(self, queryset, **kwargs):
        return super().filter_export(queryset, **kwargs).select_related("county", "neighborhood").defer("geometry")

    def import_snapshot(self, instance) -> dict[str, Any]:
        return property_snapshot(instance)

    def service_save(self, instance, *, is_create: bool, actor: Actor) -> None:
        if is_create:
            property_create(prop=instance, actor=actor, value_source=ValueSource.IMPORT)
            return
        changes = self.import_changes(instance)
        if changes:
            property_update(prop=instance, data=changes, actor=actor, value_source=ValueSource.IMPORT)


class SaleResource(CountyScopedResource):
    property = fields.Field(
        attribute="property",
        column_name="property_id",
        widget=InCountyWidget(Property, "property_id", "property id", integer=True),
    )
    parcel_number = fields.Field(attribute="property__parcel_number", column_name="parcel_number", readonly=True)
    required_id_fields = ("sale_id",)
    lock_of = ("property",)  # a sale's writes are serialized by its parcel's lock (properties.services)

    class Meta:
        model = Sale
        name = "Sales (county slug + sale id)"
        fields = ("county", "property", "parcel_number", *SALE_EDITABLE_FIELDS)
        export_order = ("county", "sale_id", "property", "parcel_number")
        import_id_fields = ("county", "sale_id")
        instance_loader_class = LockingInstanceLoader
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True

    def get_queryset(self):
        return super().get_queryset().select_related("property")

    def filter_export(self, queryset, **kwargs):
        return super().filter_export(queryset, **kwargs).select_related("county", "property")

    def import_snapshot(self, instance) -> dict[str, Any]:
        return {"property": instance.property_id, **{field: getattr(instance, field) for field in SALE_EDITABLE_FIELDS}}

    def service_save(self, instance, *, is_create: bool, actor: Actor) -> None:
        if is_create:
            sale_create(sale=instance, actor=actor)
            return
        changes = self.import_changes(instance)
        if changes.pop("property", None) is not None:
            raise ValidationError(
                {"property": ["A sale stays with its parcel: delete it and record the sale on the other parcel."]}
            )
        if changes:
            sale_update(sale=instance, data=changes, actor=actor)
