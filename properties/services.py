"""Writes to parcels, values and sales. Every change of a property goes through here and is audited."""

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import transaction

from properties.choices import ActorKind, ValueSource
from properties.geometry import geometry_columns
from properties.models import VALUE_FIELDS, Property, PropertyChange, PropertyValue

# The fields of a property that a person or a job may change (the rest are keys or derived).
EDITABLE_FIELDS = (
    "parcel_number", "property_type", "class_code", "neighborhood", "situs_address", "situs_city", "situs_zip",
    "owner_name", "owner_address", "legal_description", "land_area_sqft", "acreage", "living_area", "year_built",
    "effective_year", "bedrooms", "bathrooms", "quality", "condition", "geometry", *VALUE_FIELDS, "value_year",
    "last_sale_date", "last_sale_price", "is_active",
)  # fmt: skip


@dataclass(frozen=True)
class Actor:
    """Who or what makes a change: a user (through the API or admin), a job, or an import."""

    kind: ActorKind
    user: Any = None
    job_id: UUID | None = None
    source: str = ""

    @classmethod
    def for_user(cls, user, source: str) -> "Actor":
        return cls(kind=ActorKind.USER, user=user, source=source)


def _audit_value(field: str, value: Any) -> Any:
    """A JSON-safe form of a field value for the audit trail."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()[:16]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return str(value)


def _field_key(field: str) -> str:
    """Foreign keys are compared and stored by id."""
    return f"{field}_id" if field == "neighborhood" else field


def _comparable(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def record_change(*, prop: Property, changes: dict, actor: Actor) -> PropertyChange:
    return PropertyChange.objects.create(
        county_id=prop.county_id,
        property=prop,
        actor_kind=actor.kind,
        user=actor.user if actor.user is not None and actor.user.is_authenticated else None,
        job_id=actor.job_id,
        source=actor.source[:120],
        changes=changes,
    )


@transaction.atomic
def property_update(*, prop: Property, data: dict[str, Any], actor: Actor) -> PropertyChange | None:
    """Change characteristics and current values of one property, validated, with an audit row.

    The row is locked and re-read first, so the audit's "old" is what was really there and a
    concurrent edit of another field is neither lost nor silently reverted. When current values
    change, the value history's `manual` row for the roll year follows. Returns the audit row, or
    None when nothing changed; `prop` is left as saved.
    """
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}.")
    Property.objects.select_for_update().filter(pk=prop.pk).exists()
    prop.refresh_from_db()
    changes = {}
    for field, new in data.items():
        key = _field_key(field)
        new_value = new.pk if field == "neighborhood" and new is not None else new
        old_value = getattr(prop, key)
        if _comparable(old_value) != _comparable(new_value):
            changes[field] = {"old": _audit_value(field, old_value), "new": _audit_value(field, new_value)}
            setattr(prop, key, new_value)
    if not changes:
        return None
    if changes.keys() & set(VALUE_FIELDS) and prop.value_year is None:
        # Values belong to a roll year: without one they are the county's working year's, on the record.
        prop.value_year = prop.county.working_roll_year
        changes["value_year"] = {"old": None, "new": prop.value_year}
    columns = [_field_key(field) for field in changes]
    if "geometry" in changes:
        derived = geometry_columns(prop.geometry)
        for column, value in derived.items():
            setattr(prop, column, value)
        columns += list(derived)
    prop.full_clean(validate_unique=False, validate_constraints=True)
    prop.save(update_fields=[*columns, "updated_at"])
    if changes.keys() & set(VALUE_FIELDS):
        property_value_record(prop=prop, source=ValueSource.MANUAL)
    return record_change(prop=prop, changes=changes, actor=actor)


def property_value_record(*, prop: Property, source: ValueSource) -> PropertyValue:
    """Write the property's current values into its value history (one row per roll year and source)."""
    if prop.value_year is None:
        raise ValueError("The property's values have no roll year (value_year).")
    row, _ = PropertyValue.objects.update_or_create(
        property=prop,
        roll_year=prop.value_year,
        source=source,
        defaults={"county_id": prop.county_id, **{field: getattr(prop, field) for field in VALUE_FIELDS}},
    )
    return row


def property_record_creation(*, prop: Property, actor: Actor) -> PropertyChange:
    """Audit a newly created property: every field it was created with, old None."""
    changes = {
        field: change
        for field, change in changes_between({}, property_snapshot(prop)).items()
        if change["new"] not in (None, "")
    }
    return record_change(prop=prop, changes=changes, actor=actor)


def property_snapshot(prop: Property) -> dict[str, Any]:
    """The editable state of a property, for diffing saves made outside `property_update` (imports)."""
    return {field: _comparable(getattr(prop, _field_key(field))) for field in EDITABLE_FIELDS}


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict:
    return {
        field: {"old": _audit_value(field, before.get(field)), "new": _audit_value(field, value)}
        for field, value in after.items()
        if before.get(field) != value
    }
