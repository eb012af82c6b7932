"""Writes to parcels, their value history and their sales. Every change goes through here and is audited.

One lock per parcel: every write of a parcel, of one of its value-history rows or of one of its sales first
locks the parcel's row (SELECT ... FOR UPDATE) and re-reads what it changes. So the audit's "old" is what was
really there, a concurrent edit is neither lost nor silently reverted, the rule "land + improvements = market"
is checked against the values as they will be stored, and the parcel's last sale is computed from a stable set
of sales. Every write leaves one PropertyChange on the parcel's trail (old -> new per field; value-history rows
as "values[2025/manual].market_value", sales as "sales[<legacy sale id>].sale_price").
"""

import datetime
import hashlib
import json
import zlib
from collections import defaultdict
from collections.abc import Collection
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from properties.choices import ActorKind, ValueSource
from properties.fields import (
    CENTROID_FIELDS,
    CHARACTERISTIC_FIELDS,
    CURRENT_VALUE_FIELDS,
    LAST_SALE_FIELDS,
    PROPERTY_EDITABLE_FIELDS,
    PROPERTY_RECORDED_FIELDS,
    SALE_EDITABLE_FIELDS,
    VALUE_FIELDS,
)
from properties.geometry import geometry_columns
from properties.models import Neighborhood, Property, PropertyChange, PropertyValue, Sale

# A parcel's last sale is its latest by date, valid or not: the last change of ownership on record, which is
# what a roll's "last sale" shows (validity decides what ratio studies and models use, not what happened last).
# The demo generator derives it the same way. Ties: the higher legacy sale id, then the later row.
LAST_SALE_ORDER = ("-sale_date", F("sale_id").desc(nulls_last=True), "-pk")

# The rule every write of values obeys (when all three are known): the market value is land plus improvements.
VALUES_THAT_ADD_UP = ("land_value", "improvement_value", "market_value")


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


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == b""


def _value_key(roll_year: int, source: str) -> str:
    return f"values[{roll_year}/{source}]"


def _sale_key(sale: Sale) -> str:
    """A sale's name on its parcel's trail: its legacy sale id, or its TerraFusion id when it has none."""
    return f"sales[{sale.sale_id}]" if sale.sale_id is not None else f"sales[id={sale.pk}]"


def _created(prefix: str, state: dict[str, Any]) -> dict:
    return {
        f"{prefix}{field}": {"old": None, "new": _audit_value(field, value)}
        for field, value in state.items()
        if not _is_empty(value)
    }


def _deleted(prefix: str, state: dict[str, Any]) -> dict:
    return {
        f"{prefix}{field}": {"old": _audit_value(field, value), "new": None}
        for field, value in state.items()
        if not _is_empty(value)
    }


def record_change(*, prop: Property, changes: dict, actor: Actor) -> PropertyChange:
    """Write one audit row on the parcel's trail."""
    return PropertyChange.objects.create(**_change_fields(prop=prop, changes=changes, actor=actor))


def _change_fields(*, prop: Property, changes: dict, actor: Actor) -> dict[str, Any]:
    return {
        "county_id": prop.county_id,
        "property": prop,
        "property_key": prop.property_id,
        "actor_kind": actor.kind,
        "user": actor.user if actor.user is not None and actor.user.is_authenticated else None,
        "job_id": actor.job_id,
        "source": actor.source[:120],
        "changes": changes,
    }


def property_values_check(*, land: int | None, improvement: int | None, market: int | None) -> None:
    """Refuse values whose market value is not land + improvements (checked only when all three are known)."""
    if None in (land, improvement, market) or land + improvement == market:
        return
    raise ValidationError(
        {
            "market_value": [
                f"Market value ({market:,}) must equal land value + improvement value "
                f"({land:,} + {improvement:,} = {land + improvement:,})."
            ]
        },
        code="values_do_not_add_up",
    )


def _check_values_of(obj: Property | PropertyValue) -> None:
    property_values_check(land=obj.land_value, improvement=obj.improvement_value, market=obj.market_value)


def _property_lock(pk: int) -> Property:
    """Lock a parcel's row (the lock of everything of the parcel) and return it as it is now."""
    return Property.objects.select_for_update(of=("self",)).select_related("county").get(pk=pk)


def property_snapshot(prop: Property) -> dict[str, Any]:
    """The editable state of a property (foreign keys by id), for diffing a form's or a file's changes."""
    return {field: _comparable(getattr(prop, _field_key(field))) for field in PROPERTY_EDITABLE_FIELDS}


def _property_record(prop: Property) -> dict[str, Any]:
    return {field: _comparable(getattr(prop, _field_key(field))) for field in PROPERTY_RECORDED_FIELDS}


def _sale_state(sale: Sale) -> dict[str, Any]:
    return {field: getattr(sale, field) for field in SALE_EDITABLE_FIELDS}


def _values_need_a_year(prop: Property) -> bool:
    return prop.value_year is None and any(getattr(prop, field) is not None for field in VALUE_FIELDS)


@transaction.atomic
def property_create(*, prop: Property, actor: Actor, value_source: ValueSource = ValueSource.MANUAL) -> PropertyChange:
    """Save a new parcel (built by a form or a file row), validated, with its creation and values on the record.

    Values without a roll year take the county's working year; they enter the value history as a
    `value_source` row. The last sale is derived from sales, so a new parcel has none.
    """
    if prop.pk is not None:
        raise ValueError("property_create saves a new parcel; change an existing one with property_update.")
    if prop.county_id is None:
        raise ValidationError({"county": ["A parcel belongs to a county."]})
    if _values_need_a_year(prop):
        prop.value_year = prop.county.working_roll_year
    for field in LAST_SALE_FIELDS:
        setattr(prop, field, None)
    for column, value in geometry_columns(prop.geometry).items():
        setattr(prop, column, value)
    prop.full_clean()
    _check_values_of(prop)
    prop.save(force_insert=True)
    changes = _created("", _property_record(prop))
    if any(getattr(prop, field) is not None for field in VALUE_FIELDS):
        changes.update(_value_row_write(prop=prop, source=value_source))
    return record_change(prop=prop, changes=changes, actor=actor)


@transaction.atomic
def property_update(
    *, prop: Property, data: dict[str, Any], actor: Actor, value_source: ValueSource = ValueSource.MANUAL
) -> PropertyChange | None:
    """Change characteristics and current values of one property, validated, with an audit row.

    The row is locked and re-read first, so the audit's "old" is what was really there and a
    concurrent edit of another field is neither lost nor silently reverted. When current values
    change, they must add up (land + improvements = market) and the value history's `value_source` row
    for the roll year follows. Returns the audit row, or None when nothing changed; `prop` is left as saved.
    """
    unknown = set(data) - set(PROPERTY_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}.")
    _property_lock(prop.pk)
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
    values_changed = bool(changes.keys() & set(VALUE_FIELDS))
    if values_changed and prop.value_year is None:
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
    if changes.keys() & set(VALUES_THAT_ADD_UP):
        _check_values_of(prop)  # under the lock: against the values as they will be stored
    prop.save(update_fields=[*columns, "updated_at"])
    if values_changed:
        changes.update(_value_row_write(prop=prop, source=value_source))
    return record_change(prop=prop, changes=changes, actor=actor)


def _value_row_write(*, prop: Property, source: ValueSource) -> dict:
    """Write the property's current values into its history row for (value_year, source); returns its changes.

    The caller holds the parcel's lock and records the returned changes on the parcel's trail.
    """
    if prop.value_year is None:
        raise ValueError("The property's values have no roll year (value_year).")
    prefix = _value_key(prop.value_year, source) + "."
    values = {field: getattr(prop, field) for field in VALUE_FIELDS}
    row = PropertyValue.objects.filter(property=prop, roll_year=prop.value_year, source=source).first()
    if row is None:
        PropertyValue.objects.create(
            county_id=prop.county_id, property=prop, roll_year=prop.value_year, source=source, **values
        )
        return _created(prefix, values)
    changes = {
        f"{prefix}{field}": {"old": getattr(row, field), "new": value}
        for field, value in values.items()
        if getattr(row, field) != value
    }
    if changes and row.is_certified:
        raise ValidationError(
            {
                "value_year": f"The {prop.value_year} {source} values are certified: they are the roll as "
                "certified and do not change. Record new values in an uncertified roll year."
            },
            code="value_row_certified",
        )
    if changes:
        for field, value in values.items():
            setattr(row, field, value)
        row.save(update_fields=[*VALUE_FIELDS, "updated_at"])
    return changes


@transaction.atomic
def property_value_update(*, value: PropertyValue, data: dict[str, Any], actor: Actor) -> PropertyChange | None:
    """Correct an uncertified manual value-history row, under its parcel's lock, with an audit row."""
    unknown = set(data) - set(VALUE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}.")
    prop = _property_lock(value.property_id)
    value.refresh_from_db()
    if value.is_certified or value.source != ValueSource.MANUAL:
        # Certified values, and values from PACS, models and files, are the record as it was made.
        raise ValidationError("Only uncertified manual values can be corrected.", code="value_row_locked")
    prefix = _value_key(value.roll_year, value.source) + "."
    changes = {}
    for field, new in data.items():
        old = getattr(value, field)
        if old != new:
            changes[f"{prefix}{field}"] = {"old": old, "new": new}
            setattr(value, field, new)
    if not changes:
        return None
    value.full_clean(validate_unique=False, validate_constraints=True)
    if data.keys() & set(VALUES_THAT_ADD_UP):
        _check_values_of(value)
    value.save(update_fields=[*data, "updated_at"])
    return record_change(prop=prop, changes=changes, actor=actor)


def property_deletion_blockers(*, property_ids: list[int]) -> list[str]:
    """Why these parcels may not be deleted: certified values are the legal roll (deactivate those parcels)."""
    certified = (
        PropertyValue.objects.filter(property_id__in=property_ids, is_certified=True)
        .values_list("property__parcel_number", "roll_year")
        .order_by("property__parcel_number", "roll_year")
        .distinct()
    )
    years: dict[str, list[int]] = defaultdict(list)
    for parcel_number, roll_year in certified:
        years[parcel_number].append(roll_year)
    return [
        f"Parcel {parcel_number} has certified values ({', '.join(map(str, roll_years))}): certified values are "
        "the legal roll, so it cannot be deleted. Deactivate it instead (clear Active)."
        for parcel_number, roll_years in years.items()
    ]


@transaction.atomic
def property_delete(*, prop: Property, actor: Actor) -> PropertyChange:
    """Delete one parcel with its values and sales, all recorded first on its trail, which survives it."""
    records = property_delete_many(properties=Property.objects.filter(pk=prop.pk), actor=actor)
    if not records:
        raise Property.DoesNotExist(f"Property {prop.pk} no longer exists.")
    return records[0]


@transaction.atomic
def property_delete_many(*, properties: QuerySet[Property], actor: Actor) -> list[PropertyChange]:
    """Delete parcels with their values and sales; each leaves a last audit row listing everything removed.

    The choice, for an assessor: the audit trail is never deleted. Before a parcel goes, one PropertyChange
    records its fields, each value-history row ("values[2024/pacs].market_value") and each sale
    ("sales[9001].sale_price") as old -> None; the parcel's trail then outlives it (PropertyChange.property is
    cleared, `property_key` keeps its legacy id). A parcel with certified values is refused with a
    ValidationError (the certified roll is the legal record): deactivate it instead (is_active=False through
    property_update), which is the ordinary, audited way to retire a parcel. A few queries for any number of
    parcels (no query per parcel).
    """
    # Locked in id order, so two deletes (or a delete and an edit) of the same parcels cannot deadlock.
    props = list(
        Property.objects.select_for_update(of=("self",)).filter(pk__in=Subquery(properties.values("pk"))).order_by("pk")
    )
    ids = [prop.pk for prop in props]
    blockers = property_deletion_blockers(property_ids=ids)
    if blockers:
        raise ValidationError(blockers, code="certified_values")
    values: dict[int, list[PropertyValue]] = defaultdict(list)
    for row in PropertyValue.objects.filter(property_id__in=ids).order_by("roll_year", "source"):
        values[row.property_id].append(row)
    sales: dict[int, list[Sale]] = defaultdict(list)
    for sale in Sale.objects.filter(property_id__in=ids).order_by("sale_date", "pk"):
        sales[sale.property_id].append(sale)
    records = []
    for prop in props:
        changes = _deleted("", _property_record(prop))
        for row in values[prop.pk]:
            state = {field: getattr(row, field) for field in VALUE_FIELDS}
            changes.update(_deleted(_value_key(row.roll_year, row.source) + ".", state))
        for sale in sales[prop.pk]:
            changes.update(_deleted(_sale_key(sale) + ".", _sale_state(sale)))
        records.append(PropertyChange(**_change_fields(prop=prop, changes=changes, actor=actor)))
    records = PropertyChange.objects.bulk_create(records)
    Sale.objects.filter(property_id__in=ids).delete()
    PropertyValue.objects.filter(property_id__in=ids).delete()
    Property.objects.filter(pk__in=ids).delete()  # the trail's link is cleared (SET_NULL), its rows stay
    return records


def _last_sales_refresh(props: list[Property]) -> dict[int, dict]:
    """Set each locked parcel's last sale from its sales (one read, one write); returns the changes by parcel."""
    latest = Sale.objects.filter(property=OuterRef("pk")).order_by(*LAST_SALE_ORDER)
    now = Property.objects.filter(pk__in=[prop.pk for prop in props]).annotate(
        latest_date=Subquery(latest.values("sale_date")[:1]), latest_price=Subquery(latest.values("sale_price")[:1])
    )
    found = {pk: (date, price) for pk, date, price in now.values_list("pk", "latest_date", "latest_price")}
    changes: dict[int, dict] = {}
    changed = []
    for prop in props:
        new = dict(zip(LAST_SALE_FIELDS, found.get(prop.pk, (None, None)), strict=True))
        diff = {
            field: {"old": _audit_value(field, getattr(prop, field)), "new": _audit_value(field, value)}
            for field, value in new.items()
            if getattr(prop, field) != value
        }
        if diff:
            for field, value in new.items():
                setattr(prop, field, value)
            prop.updated_at = timezone.now()
            changed.append(prop)
        changes[prop.pk] = diff
    if changed:
        Property.objects.bulk_update(changed, [*LAST_SALE_FIELDS, "updated_at"])
    return changes


def _sale_prepare(*, sale: Sale, prop: Property) -> None:
    if sale.county_id is not None and sale.county_id != prop.county_id:
        raise ValidationError({"property": ["This property belongs to another county."]})
    sale.county_id = prop.county_id
    sale.property = prop


def _sale_save(sale: Sale, **kwargs) -> None:
    """Save a checked sale. Should two new sales of one legacy id on one parcel still meet (the parcel's lock
    serialises them, so only a writer that bypassed it could), the loser meets the unique index and gets the
    message full_clean would have given it."""
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable after the clash
            sale.save(**kwargs)
    except IntegrityError:
        taken = Sale.objects.filter(county_id=sale.county_id, property_id=sale.property_id, sale_id=sale.sale_id)
        if sale.sale_id is None or not taken.exists():
            raise
        raise ValidationError(
            {"sale_id": f"This parcel already has a sale with legacy sale id {sale.sale_id}."}
        ) from None


@transaction.atomic
def sale_create(*, sale: Sale, actor: Actor) -> PropertyChange:
    """Record a new sale of a parcel (its county is the parcel's), audited, keeping the parcel's last sale right."""
    if sale.pk is not None:
        raise ValueError("sale_create records a new sale; change an existing one with sale_update.")
    prop = _property_lock(sale.property_id)
    _sale_prepare(sale=sale, prop=prop)
    sale.full_clean()
    _sale_save(sale, force_insert=True)
    changes = _created(_sale_key(sale) + ".", _sale_state(sale))
    changes.update(_last_sales_refresh([prop])[prop.pk])
    return record_change(prop=prop, changes=changes, actor=actor)


@transaction.atomic
def sale_update(*, sale: Sale, data: dict[str, Any], actor: Actor) -> PropertyChange | None:
    """Change a sale (never its parcel), under its parcel's lock, audited, keeping the last sale right."""
    unknown = set(data) - set(SALE_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}.")
    prop = _property_lock(sale.property_id)
    sale.refresh_from_db()
    prefix = _sale_key(sale) + "."  # its name before the change, should its legacy id change
    changes = {}
    for field, new in data.items():
        old = getattr(sale, field)
        if old != new:
            changes[f"{prefix}{field}"] = {"old": _audit_value(field, old), "new": _audit_value(field, new)}
            setattr(sale, field, new)
    if not changes:
        return None
    sale.full_clean()
    _sale_save(sale, update_fields=[*data, "updated_at"])
    changes.update(_last_sales_refresh([prop])[prop.pk])
    return record_change(prop=prop, changes=changes, actor=actor)


@transaction.atomic
def sale_delete(*, sale: Sale, actor: Actor) -> PropertyChange:
    """Delete a sale, recorded (old -> None) on its parcel's trail, keeping the parcel's last sale right."""
    records = sale_delete_many(sales=Sale.objects.filter(pk=sale.pk), actor=actor)
    if not records:
        raise Sale.DoesNotExist(f"Sale {sale.pk} no longer exists.")
    return records[0]


@transaction.atomic
def sale_delete_many(*, sales: QuerySet[Sale], actor: Actor) -> list[PropertyChange]:
    """Delete sales: one audit row per parcel touched, last sales recomputed, in a few queries for any number."""
    property_ids = Sale.objects.filter(pk__in=Subquery(sales.values("pk"))).values("property_id")
    props = list(Property.objects.select_for_update(of=("self",)).filter(pk__in=Subquery(property_ids)).order_by("pk"))
    doomed: dict[int, list[Sale]] = defaultdict(list)
    for sale in Sale.objects.filter(pk__in=Subquery(sales.values("pk"))).order_by("sale_date", "pk"):
        doomed[sale.property_id].append(sale)
    Sale.objects.filter(pk__in=[sale.pk for group in doomed.values() for sale in group]).delete()
    last_sales = _last_sales_refresh(props)
    records = []
    for prop in props:
        if not doomed[prop.pk]:
            continue  # its sales went meanwhile (another delete, before our lock): nothing of ours to record
        changes = {}
        for sale in doomed[prop.pk]:
            changes.update(_deleted(_sale_key(sale) + ".", _sale_state(sale)))
        changes.update(last_sales[prop.pk])
        records.append(PropertyChange(**_change_fields(prop=prop, changes=changes, actor=actor)))
    return PropertyChange.objects.bulk_create(records)


# --- bulk loads: a county's records from its legacy system, set-based, audited ------------------------------
#
# A load (a PACS bulk load or sync) hands over the records of one range of legacy keys at a time. Its writes are
# a fixed number of statements per range, whatever its size: records whose hash matches what is stored are left
# alone before anything is staged; the rest are staged (COPY on PostgreSQL) and upserted with
# `INSERT ... ON CONFLICT DO UPDATE ... WHERE (stored) IS DISTINCT FROM (new)`, so an unchanged row is never
# rewritten. Every change to an existing parcel, value row or sale is on the parcel's trail (old -> new, the
# job as its actor), written in bulk in the same transaction; a parcel the load creates carries the job
# (`created_by_job`), which is its record of creation.

# The parcel fields a load writes (the neighborhood by code, resolved to the county's neighborhood here).
BULK_PROPERTY_FIELDS = (
    "parcel_number", "property_type", "class_code", "neighborhood", "situs_address", "situs_city", "situs_zip",
    "legal_description", "owner_name", "owner_address", "exemptions", *CHARACTERISTIC_FIELDS, *CENTROID_FIELDS,
    *VALUE_FIELDS, "value_year", "is_active",
)  # fmt: skip
# A value-history row as the bulk paths insert it (COPY): the order of their tuples.
_VALUE_ROW_COLUMNS = [
    "county_id", "property_id", "roll_year", "source", *VALUE_FIELDS, "job_id", "is_certified", "created_at",
    "updated_at",
]  # fmt: skip
_BULK_BATCH = 2_000  # ids per IN list, rows per bulk statement
_PROVENANCE = ("county_id", "source_system", "created_by_job", "created_at", "updated_at")  # set by the load


@dataclass
class BulkLoadResult:
    """What a load did to one range of keys (added up over ranges by the job)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    values_inserted: int = 0
    values_updated: int = 0
    values_certified: int = 0  # differing value rows of a certified roll year, left as certified
    sales_inserted: int = 0
    sales_updated: int = 0
    sales_deleted: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _batches(items: list, size: int = _BULK_BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rows_copy(table: str, columns: list[str], rows: list[tuple]) -> None:
    """Insert rows into a table in bulk: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    with connection.cursor() as cursor:
        names = ", ".join(connection.ops.quote_name(column) for column in columns)
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            rows = [tuple(_db_value(value) if isinstance(value, _ADAPTED) else value for value in row) for row in rows]
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {connection.ops.quote_name(table)} ({names}) VALUES ({marks})"  # noqa: S608 - our names
            cursor.executemany(sql, rows)


# PostgreSQL's binary COPY: each field is its length (int32, -1 for NULL) and its bytes, big-endian.
_BINARY_FORMATS = {"bigint": ">i8", "integer": ">i4", "smallint": ">i2", "double precision": ">f8", "uuid": "S16",
                   "timestamp with time zone": ">i8", "boolean": "?"}  # fmt: skip
_PG_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def columns_copy(model, columns: dict[str, Any], rows: int) -> None:
    """Insert `rows` rows given column-wise (attribute columns of `model`): numpy arrays of numbers (NULL where NaN
    or masked) or one value for all rows (numbers, booleans, UUIDs, datetimes, text). On PostgreSQL, a binary COPY
    whose bytes numpy lays out a whole column at a time: no Python per row (measured, 125,000 rows of 13 columns:
    0.05 s of Python against 0.8 s for `write_row`; the server's share is the same). Elsewhere, rows_copy."""
    import numpy as np

    if not rows:
        return
    fields = [model._meta.get_field(name) for name in columns]
    names = [field.column for field in fields]
    if connection.vendor != "postgresql":
        listed = []
        for value in columns.values():
            if not isinstance(value, np.ndarray):
                listed.append([value] * rows)
                continue
            data = np.ma.getdata(value)
            null = np.ma.getmaskarray(value) | (~np.isfinite(data) if data.dtype.kind == "f" else False)
            listed.append([None if missing else v for v, missing in zip(data.tolist(), null.tolist(), strict=True)])
        rows_copy(model._meta.db_table, names, list(zip(*listed, strict=True)))
        return
    # Per column: its binary format and bytes (arrays) or its one value's bytes; NULLs by mask.
    parts = []
    for field, value in zip(fields, columns.values(), strict=True):
        kind = field.db_type(connection).split("(")[0]
        if isinstance(value, np.ndarray):
            data = np.ma.getdata(value)
            null = np.ma.getmaskarray(value) if isinstance(value, np.ma.MaskedArray) else np.zeros(rows, dtype=bool)
            if data.dtype.kind == "f":
                null = null | ~np.isfinite(data)
            parts.append((_BINARY_FORMATS[kind], data, null))
        else:
            raw = _binary_value(kind, value)
            parts.append((f"S{len(raw)}", raw, None))
    nullable = [i for i, (_, _, null) in enumerate(parts) if null is not None and null.any()]
    pattern = np.zeros(rows, dtype=np.int64)
    for bit, i in enumerate(nullable):
        pattern |= parts[i][2].astype(np.int64) << bit
    chunks = []
    for code in np.unique(pattern):  # rows with the same NULLs have the same layout
        take = np.flatnonzero(pattern == code)
        null_here = {i for bit, i in enumerate(nullable) if code >> bit & 1}
        layout = [("fields", ">i2")]
        for i, (fmt, _, _) in enumerate(parts):
            layout.append((f"n{i}", ">i4"))
            if i not in null_here:
                layout.append((f"v{i}", fmt))
        block = np.empty(take.size, dtype=np.dtype(layout))
        block["fields"] = len(parts)
        for i, (fmt, data, _) in enumerate(parts):
            if i in null_here:
                block[f"n{i}"] = -1
                continue
            block[f"n{i}"] = np.dtype(fmt).itemsize
            block[f"v{i}"] = data[take] if isinstance(data, np.ndarray) else data
        chunks.append(block.tobytes())
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        sql = f"COPY {quote(model._meta.db_table)} ({', '.join(map(quote, names))}) FROM STDIN (FORMAT BINARY)"
        with cursor.cursor.copy(sql) as copy:
            copy.write(b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") * 2)
            for chunk in chunks:
                copy.write(chunk)
            copy.write((-1).to_bytes(2, "big", signed=True))


def _binary_value(kind: str, value: Any) -> bytes:
    """One value in PostgreSQL's binary format, for a column of type `kind`."""
    if kind in ("varchar", "text"):
        return str(value).encode()
    if kind == "uuid":
        return value.bytes
    if kind == "timestamp with time zone":
        delta = value - _PG_EPOCH
        return (delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds).to_bytes(
            8, "big", signed=True
        )
    import numpy as np

    return np.array(value, dtype=_BINARY_FORMATS[kind]).tobytes()


@contextmanager
def _staged(table: str, columns: list[str], rows: list[tuple]):
    """A temporary table of `table`'s `columns` holding `rows` (COPY on PostgreSQL), named while the block runs."""
    quote, stage = connection.ops.quote_name, f"tf_stage_{table}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute(
            f"CREATE TEMP TABLE {stage} AS SELECT {', '.join(map(quote, columns))} FROM {quote(table)} WHERE 1 = 0"  # noqa: S608
        )
    rows_copy(stage, columns, rows)
    yield stage
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {stage}")


def rows_update(table: str, columns: list[str], rows: list[tuple]) -> None:
    """Update rows by id in bulk: (id, *values) staged, then one UPDATE ... FROM. Django's bulk_update builds a
    CASE per column and row, which cost more in Python than the load's reads (measured)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    with _staged(table, ["id", *columns], rows) as stage, connection.cursor() as cursor:
        assignments = ", ".join(f"{quote(column)} = {stage}.{quote(column)}" for column in columns)
        cursor.execute(f"UPDATE {quote(table)} SET {assignments} FROM {stage} WHERE {quote(table)}.id = {stage}.id")  # noqa: S608


_ADAPTED = (UUID, datetime.datetime)  # what _db_value changes: only these values go through it


def _db_value(value: Any) -> Any:
    """A value as Django stores it where the driver would not (SQLite: UUIDs as hex, timestamps as naive UTC)."""
    if isinstance(value, UUID):
        return (
            connection.ops.adapt_uuidfield_value(value)
            if hasattr(connection.ops, "adapt_uuidfield_value")
            else value.hex
        )
    if isinstance(value, datetime.datetime) and connection.vendor == "sqlite":
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _distinct(left: str, right: str) -> str:
    """Null-safe inequality of two SQL expressions (row values too)."""
    return f"{left} IS DISTINCT FROM {right}" if connection.vendor == "postgresql" else f"{left} IS NOT {right}"


def neighborhoods_ensure(*, county, names: dict[str, str]) -> dict[str, int]:
    """The ids of the county's neighborhoods by code, creating the missing ones (names from the load)."""
    codes = sorted(code for code in names if code)
    found = dict(Neighborhood.objects.filter(county=county, code__in=codes).values_list("code", "id"))
    missing = [Neighborhood(county=county, code=code, name=names[code][:120]) for code in codes if code not in found]
    if missing:
        Neighborhood.objects.bulk_create(missing, batch_size=_BULK_BATCH, ignore_conflicts=True)
        found = dict(Neighborhood.objects.filter(county=county, code__in=codes).values_list("code", "id"))
    return found


def _bulk_audits(*, county, entries: list[tuple[int | None, int, dict]], actor: Actor) -> None:
    """Audit rows (parcel pk, parcel key, changes), written in bulk."""
    rows = []
    now = timezone.now()
    user_id = actor.user.pk if actor.user is not None and actor.user.is_authenticated else None
    for pk, key, changes in entries:
        rows.append(
            (county.pk, pk, key, now, actor.kind, user_id, actor.job_id, actor.source[:120], json.dumps(changes))
        )
    rows_copy(
        PropertyChange._meta.db_table,
        ["county_id", "property_id", "property_key", "changed_at", "actor_kind", "user_id", "job_id", "source",
         "changes"],
        rows,
    )  # fmt: skip


def _field_changes(prefix: str, old: dict[str, Any], new: dict[str, Any]) -> dict:
    return {
        f"{prefix}{field}": {"old": _audit_value(field, old[field]), "new": _audit_value(field, value)}
        for field, value in new.items()
        if _comparable(old[field]) != _comparable(value)
    }


class StoredParcel(NamedTuple):
    """What a bulk load compares of a stored parcel."""

    pk: int
    row_hash: str
    is_active: bool
    value_year: int | None
    source_system: str


def properties_stored(*, county, key_range: tuple[int, int]) -> dict[int, StoredParcel]:
    """The county's parcels with legacy keys in `key_range` (low, high exclusive), by legacy key: read once by a
    load, which gives them to the source (to skip what it still has as stored) and then to properties_bulk_load."""
    low, high = key_range
    rows = Property.objects.filter(county=county, property_id__gte=low, property_id__lt=high).values_list(
        "property_id", "pk", "source_row_hash", "is_active", "value_year", "source_system"
    )
    return {key: StoredParcel(*rest) for key, *rest in rows}


def properties_range_lock(*, county, key_range: tuple[int, int]) -> None:
    """Hold the county's range of legacy keys until the transaction ends (PostgreSQL; SQLite writes one at a time).

    Two loads of one county (a sync beside a bulk load, say) would otherwise both find a parcel missing and both
    insert it; the second now waits, then finds it stored. A lock on (county, range) as a transaction-level
    advisory lock: the range's low bound folded into 32 bits (a collision only makes two ranges wait in turn).
    """
    if connection.vendor != "postgresql":
        return
    bound = zlib.crc32(str(key_range[0]).encode()) - 2**31
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [county.pk, bound])


def source_hashes(stored: dict[int, StoredParcel], *, roll_year: int, source_system: str) -> dict[int, str]:
    """The row hashes of the stored parcels a load of `roll_year` from `source_system` may leave as they are when
    the source's rows hash the same: active, from that source, with that year's values."""
    return {
        key: parcel.row_hash
        for key, parcel in stored.items()
        if parcel.is_active and parcel.value_year == roll_year and parcel.source_system == source_system
        and parcel.row_hash
    }  # fmt: skip


@transaction.atomic
def properties_bulk_load(
    *,
    county,
    stored: dict[int, StoredParcel],
    records: list[dict[str, Any]],
    sales: list[dict[str, Any]],
    neighborhoods: dict[str, str],
    roll_year: int,
    actor: Actor,
    source_system: str,
    value_source: ValueSource,
    unchanged: Collection[int] = (),
) -> BulkLoadResult:
    """Make the county's parcels of a range of legacy keys what the records say.

    `stored`: the range's parcels, properties_stored's, read by the caller in this transaction (they gave the
    source the row hashes to skip by). `records`: one dict per active parcel: `property_id`, `row_hash` and
    BULK_PROPERTY_FIELDS but value_year and is_active, with the neighborhood as `neighborhood_code`
    (`neighborhoods` names the codes). Their values become the `roll_year` row of the value history from
    `value_source` (a certified row is left as it is, and counted). `sales`: the records' sales (`property_id`,
    and SALE_EDITABLE_FIELDS with `sale_id`), which replace the legacy sales of the records' parcels.
    `unchanged`: the legacy keys of parcels the source still has, as they are stored (their row hash matched):
    left untouched. Stored parcels of `source_system` that are neither among the records nor unchanged are
    deactivated.
    """
    result = BulkLoadResult()
    hood_ids = neighborhoods_ensure(county=county, names=neighborhoods)
    new_rows, changed = [], []
    for given in records:
        record = {key: value for key, value in given.items() if key != "neighborhood_code"}
        record.update(neighborhood=hood_ids.get(given.get("neighborhood_code") or ""), value_year=roll_year)
        record["is_active"] = True
        found = stored.get(record["property_id"])
        if found is None:
            new_rows.append(record)
        elif found[1:4] != (record["row_hash"], True, roll_year):
            changed.append(record)
        else:
            result.unchanged += 1
    result.inserted = len(new_rows)
    result.unchanged += len(unchanged)
    if changed:
        result.updated = _properties_update(county=county, records=changed, actor=actor)
        result.unchanged += len(changed) - result.updated
    pks = {key: found[0] for key, found in stored.items()}  # parcel pks by legacy key, the new ones added below
    if changed:
        _properties_upsert(county=county, records=changed, source_system=source_system, actor=actor)
    if new_rows:
        _last_sales_of_new(new_rows, sales)
        pks.update(_properties_insert(county=county, records=new_rows, source_system=source_system, actor=actor))
    if new_rows or changed:
        result.values_inserted, result.values_updated, result.values_certified = _values_upsert(
            county=county, pks=pks, records=new_rows + changed, existed=[r["property_id"] for r in changed],
            roll_year=roll_year, source=value_source, actor=actor,
        )  # fmt: skip
    loaded = {record["property_id"] for record in records}.union(unchanged)
    gone = [
        pk
        for key, (pk, _, active, _, system) in stored.items()
        if active and system == source_system and key not in loaded
    ]
    result.deactivated = _properties_deactivate(county=county, pks=gone, actor=actor)
    result.sales_inserted, result.sales_updated, result.sales_deleted = _sales_replace(
        county=county,
        pks={record["property_id"]: pks[record["property_id"]] for record in records},
        sales=sales,
        created={record["property_id"] for record in new_rows},
        actor=actor,
    )
    return result


def _last_sales_of_new(records: list[dict], sales: list[dict]) -> None:
    """New parcels' last sale, from their sales (all of them: a new parcel has no other), as LAST_SALE_ORDER picks
    it, so the insert writes it and no update follows."""
    latest: dict[int, dict] = {}
    for sale in sales:
        found = latest.get(sale["property_id"])
        if found is None or (sale["sale_date"], sale["sale_id"]) > (found["sale_date"], found["sale_id"]):
            latest[sale["property_id"]] = sale
    for record in records:
        sale = latest.get(record["property_id"])
        record["last_sale_date"], record["last_sale_price"] = (
            (sale["sale_date"], sale["sale_price"]) if sale else (None, None)
        )


def _properties_update(*, county, records: list[dict], actor: Actor) -> int:
    """Audit the changes of existing parcels (read in a few queries); returns how many really change.

    A parcel whose current values are of a later roll year than the records' keeps them (a load of an earlier
    year, the certified roll say, fills the value history, and does not turn the parcel's values back).
    """
    columns = [_field_key(field) for field in BULK_PROPERTY_FIELDS]
    audits = []
    by_key = {record["property_id"]: record for record in records}
    for batch in _batches(list(by_key)):
        for row in Property.objects.filter(county=county, property_id__in=batch).values("pk", "property_id", *columns):
            record = by_key[row["property_id"]]
            if row["value_year"] is not None and row["value_year"] > record["value_year"]:
                record["history_values"] = {field: record[field] for field in VALUE_FIELDS}  # the year's, for history
                record.update({field: row[field] for field in CURRENT_VALUE_FIELDS})
            old = {field: row[_field_key(field)] for field in BULK_PROPERTY_FIELDS}
            changes = _field_changes("", old, {field: record[field] for field in BULK_PROPERTY_FIELDS})
            if changes:
                audits.append((row["pk"], row["property_id"], changes))
    _bulk_audits(county=county, entries=audits, actor=actor)
    return len(audits)


def _properties_upsert(*, county, records: list[dict], source_system: str, actor: Actor) -> None:
    """Stage the records of existing parcels, then one INSERT ... ON CONFLICT DO UPDATE that skips rows equal to
    what is stored (their last sale is left to their sales)."""
    table = connection.ops.quote_name(Property._meta.db_table)
    fields = [_field_key(field) for field in BULK_PROPERTY_FIELDS]
    staged = ["property_id", "source_row_hash", *fields]
    rows = [(r["property_id"], r["row_hash"], *(r[field] for field in BULK_PROPERTY_FIELDS)) for r in records]
    now = timezone.now()
    written = [*staged, *_PROVENANCE]
    updated = [*fields, "source_row_hash", "source_system"]
    stored = "(" + ", ".join(f"{table}.{column}" for column in updated) + ")"
    new = "(" + ", ".join(f"excluded.{column}" for column in updated) + ")"
    assignments = ", ".join(f"{column} = excluded.{column}" for column in [*updated, "updated_at"])
    with _staged(Property._meta.db_table, staged, rows) as stage, connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(written)}) "  # noqa: S608 - our own column names
            f"SELECT {', '.join(staged)}, %s, %s, %s, %s, %s FROM {stage} WHERE true "
            f"ON CONFLICT (county_id, property_id) DO UPDATE SET {assignments} WHERE {_distinct(stored, new)}",
            [_db_value(value) for value in (county.pk, source_system, actor.job_id, now, now)],
        )


def _properties_insert(*, county, records: list[dict], source_system: str, actor: Actor) -> dict[int, int]:
    """COPY parcels that are not stored (their keys were not in the range read in this transaction) straight into
    the table, with their last sale: staging them first cost a third more (measured: 25,000 parcels, 0.66 s
    against 0.94 s). Returns their pks by legacy key."""
    now = timezone.now()
    columns = ["property_id", "source_row_hash", *(_field_key(field) for field in BULK_PROPERTY_FIELDS),
               *LAST_SALE_FIELDS, *_PROVENANCE]  # fmt: skip
    provenance = (county.pk, source_system, actor.job_id, now, now)
    rows_copy(
        Property._meta.db_table,
        columns,
        [
            (r["property_id"], r["row_hash"], *(r[field] for field in BULK_PROPERTY_FIELDS),
             r["last_sale_date"], r["last_sale_price"], *provenance)
            for r in records
        ],
    )  # fmt: skip
    statistics_refresh(county=county, parcels=2 * len(records))
    keys = [r["property_id"] for r in records]
    inserted = Property.objects.filter(county=county, property_id__gte=min(keys), property_id__lte=max(keys))
    return dict(inserted.values_list("property_id", "pk"))


def statistics_refresh(*, county, parcels: int) -> bool:
    """ANALYZE the parcel tables when the planner believes the county has under half `parcels` (PostgreSQL).

    A bulk load outruns autovacuum (and this machine kind runs without it): believing a county nearly empty, the
    planner read a range of legacy keys through any index starting with county_id, a scan of the whole county
    (0.35-3.5 s a range at 1,000,000 parcels) instead of the (county, property_id) key. An insert checks with twice
    its own size (a check is one EXPLAIN; the ANALYZE runs once or twice a load), a finished load with the
    county's count. The ANALYZE runs once the transaction commits: run inside it, it would hold its lock (which
    conflicts with itself) until then, and two parts of a load could wait on each other. Returns whether it is due.
    """
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {connection.ops.quote_name(Property._meta.db_table)} "  # noqa: S608
            "WHERE county_id = %s",
            [county.pk],
        )
        plan = cursor.fetchone()[0]
    if (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"] * 2 >= parcels:
        return False
    transaction.on_commit(_parcel_tables_analyze, robust=True)  # statistics are a help: never fail a load
    return True


def _parcel_tables_analyze() -> None:
    with connection.cursor() as cursor:
        for model in (Property, PropertyValue, Sale):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _values_upsert(
    *, county, pks: dict, records: list[dict], existed: list[int], roll_year: int, source: ValueSource, actor: Actor
):  # fmt: skip
    """The records' values as their `roll_year` value-history rows: (inserted, updated, certified and left).

    `pks`: the pk of each record's parcel by legacy key; `existed`: the legacy keys of the parcels that existed
    before this load (only they can have rows: a new parcel has none), whose rows are read by id.
    """
    existing = {}
    for batch in _batches([pks[key] for key in existed]):
        rows = PropertyValue.objects.filter(property_id__in=batch, roll_year=roll_year, source=source)
        for row in rows.values("pk", "property_id", "is_certified", *VALUE_FIELDS):
            existing[row["property_id"]] = row
    now = timezone.now()
    inserts, updates, audits, certified = [], [], [], 0
    prefix = _value_key(roll_year, source) + "."
    for record in records:
        pk = pks[record["property_id"]]
        given = record.get("history_values", record)  # a parcel that keeps later values gets the year's in history
        new = {field: given[field] for field in VALUE_FIELDS}
        row = existing.get(pk)
        if row is None:
            inserts.append((county.pk, pk, roll_year, source, *new.values(), actor.job_id, False, now, now))
            continue
        changes = _field_changes(prefix, row, new)
        if not changes:
            continue
        if row["is_certified"]:
            certified += 1  # the roll as certified does not change
            continue
        updates.append((row["pk"], *new.values(), now))
        audits.append((pk, record["property_id"], changes))
    rows_copy(PropertyValue._meta.db_table, _VALUE_ROW_COLUMNS, inserts)
    rows_update(PropertyValue._meta.db_table, [*VALUE_FIELDS, "updated_at"], updates)
    _bulk_audits(county=county, entries=audits, actor=actor)
    return len(inserts), len(updates), certified


def _properties_deactivate(*, county, pks: list[int], actor: Actor) -> int:
    """Deactivate parcels a load no longer finds active, each on its trail."""
    done = 0
    for batch in _batches(pks):
        rows = list(Property.objects.filter(pk__in=batch, is_active=True).values_list("pk", "property_id"))
        Property.objects.filter(pk__in=[pk for pk, _ in rows]).update(is_active=False, updated_at=timezone.now())
        entries = [(pk, key, {"is_active": {"old": True, "new": False}}) for pk, key in rows]
        _bulk_audits(county=county, entries=entries, actor=actor)
        done += len(rows)
    return done


def _sales_replace(*, county, pks: dict, sales: list[dict], created: set[int], actor: Actor):
    """The legacy sales of the parcels in `pks` (legacy key -> pk) become `sales`: (inserted, updated, deleted),
    audited, last sales kept right.

    Sales without a legacy id (entered in TerraFusion) are never replaced. Parcels this load created have no sales
    to read, their last sale was written with them, and their changes are not audited (the job is their record).
    """
    keys = {pk: key for key, pk in pks.items()}
    existing = {}
    for batch in _batches([pk for key, pk in pks.items() if key not in created]):
        rows = Sale.objects.filter(county=county, property_id__in=batch, sale_id__isnull=False)
        for row in rows.values("pk", "property_id", *SALE_EDITABLE_FIELDS):
            existing[row["property_id"], row["sale_id"]] = row
    now = timezone.now()
    inserts, updates, seen = [], [], set()
    audits: dict[int, dict] = defaultdict(dict)
    for sale in sales:
        pk = pks.get(sale["property_id"])
        if pk is None:
            continue
        new = {field: sale[field] for field in SALE_EDITABLE_FIELDS}
        seen.add((pk, sale["sale_id"]))
        row = existing.get((pk, sale["sale_id"]))
        prefix = f"sales[{sale['sale_id']}]."
        if row is None:
            inserts.append((county.pk, pk, *new.values(), now, now))
            if sale["property_id"] not in created:
                audits[pk].update(_created(prefix, new))
        elif changes := _field_changes(prefix, row, new):
            updates.append((row["pk"], *new.values(), now))
            audits[pk].update(changes)
    doomed = [row for key, row in existing.items() if key not in seen]
    for row in doomed:
        state = {field: row[field] for field in SALE_EDITABLE_FIELDS}
        audits[row["property_id"]].update(_deleted(f"sales[{row['sale_id']}].", state))
    Sale.objects.filter(pk__in=[row["pk"] for row in doomed]).delete()
    rows_copy(
        Sale._meta.db_table, ["county_id", "property_id", *SALE_EDITABLE_FIELDS, "created_at", "updated_at"], inserts
    )
    rows_update(Sale._meta.db_table, [*SALE_EDITABLE_FIELDS, "updated_at"], updates)
    for batch in _batches(sorted(pk for pk in audits if keys[pk] not in created)):
        props = list(Property.objects.filter(pk__in=batch).only("pk", *LAST_SALE_FIELDS))
        for pk, changes in _last_sales_refresh(props).items():
            audits[pk].update(changes)
    entries = [(pk, keys[pk], changes) for pk, changes in audits.items() if changes and keys[pk] not in created]
    _bulk_audits(county=county, entries=entries, actor=actor)
    return len(inserts), len(updates), len(doomed)


@transaction.atomic
def property_geometries_set(*, county, geometries: dict[int, bytes], actor: Actor) -> int:
    """Give parcels their polygons from a county GIS layer (WKB by legacy key), with the derived columns (bbox,
    representative point), set-based and audited; returns how many changed. PACS has no polygons: they come
    from the county's GIS."""
    derived = ["bbox_xmin", "bbox_ymin", "bbox_xmax", "bbox_ymax", "latitude", "longitude"]
    changed, now = 0, timezone.now()
    for batch in _batches(sorted(geometries), 20_000):
        rows = Property.objects.filter(county=county, property_id__in=batch).values_list(
            "pk", "property_id", "geometry"
        )
        staged, audits = [], []
        for pk, key, old in rows:
            new = geometries[key]
            if _comparable(old) == _comparable(new):
                continue
            columns = geometry_columns(new)
            staged.append((pk, new, *(columns.get(name) for name in derived), now))
            audits.append(
                (pk, key, {"geometry": {"old": _audit_value("geometry", old), "new": _audit_value("geometry", new)}})
            )
        rows_update(Property._meta.db_table, ["geometry", *derived, "updated_at"], staged)
        _bulk_audits(county=county, entries=audits, actor=actor)
        changed += len(staged)
    return changed


# --- values from a valuation: reviewed estimates become a roll year's values, in bulk, audited -------------------


@dataclass
class ValuesApplied:
    written: int = 0  # parcels whose value row or current values changed
    unchanged: int = 0  # already had exactly these values (applying twice changes nothing)
    certified: int = 0  # left alone: the roll year's values of the parcel are certified
    current_updated: int = 0  # parcels whose current values are now these (their newest roll year)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@transaction.atomic
def property_values_apply(
    *, county, roll_year: int, values: list[tuple[int, int, int]], source: ValueSource, actor: Actor,
    overwrite_certified: bool = False,
) -> ValuesApplied:  # fmt: skip
    """Write (parcel pk, land, improvement) as the parcels' `source` values for `roll_year` and, where the roll year
    is the parcel's newest, as its current values; market = land + improvement, and assessed = market (Washington
    assesses at 100% of true and fair value, RCW 84.40.030). Each parcel whose values change gets one audit row.

    A parcel with a certified row for the roll year (of any source) is left alone unless `overwrite_certified`
    (then a certified row stays certified, corrected; the trail has the old values). Applies in one county take
    turns.
    A fixed number of statements per 2,000 parcels: read, COPY, one UPDATE ... FROM, audits.
    """
    result = ValuesApplied()
    now = timezone.now()
    prefix = _value_key(roll_year, source) + "."
    if connection.vendor == "postgresql":  # two applies in one county take turns (else both insert the same rows)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [county.pk, zlib.crc32(prefix.encode()) - 2**31])
    for batch in _batches(values):
        pks = [pk for pk, _, _ in batch]
        rows, certified = {}, set()  # the source's rows of the year; the parcels with a certified row of it
        year_rows = PropertyValue.objects.filter(property_id__in=pks, roll_year=roll_year).filter(
            Q(source=source) | Q(is_certified=True)
        )
        for row in year_rows.values("pk", "property_id", "source", "is_certified", *VALUE_FIELDS):
            if row["source"] == source:
                rows[row["property_id"]] = row
            if row["is_certified"]:
                certified.add(row["property_id"])
        parcels = {
            row["pk"]: row
            for row in Property.objects.filter(pk__in=pks, county=county).values(
                "pk", "property_id", *CURRENT_VALUE_FIELDS
            )
        }
        inserts, updates, current, audits = [], [], [], []
        for pk, land, improvement in batch:
            parcel = parcels.get(pk)
            if parcel is None:
                raise ValueError(f"Parcel {pk} is not a parcel of {county}.")
            if pk in certified and not overwrite_certified:
                result.certified += 1
                continue
            new = {"land_value": land, "improvement_value": improvement, "market_value": land + improvement,
                   "assessed_value": land + improvement}  # fmt: skip
            row = rows.get(pk)
            changes = _created(prefix, new) if row is None else _field_changes(prefix, row, new)
            if row is None:
                inserts.append((county.pk, pk, roll_year, source, *new.values(), actor.job_id, False, now, now))
            elif changes:
                updates.append((row["pk"], *new.values(), actor.job_id, now))
            if parcel["value_year"] is None or parcel["value_year"] <= roll_year:
                parcel_changes = _field_changes("", parcel, {**new, "value_year": roll_year})
                if parcel_changes:
                    current.append((pk, *new.values(), roll_year, now))
                    changes.update(parcel_changes)
                    result.current_updated += 1
            if changes:
                audits.append((pk, parcel["property_id"], changes))
                result.written += 1
            else:
                result.unchanged += 1
        rows_copy(PropertyValue._meta.db_table, _VALUE_ROW_COLUMNS, inserts)
        rows_update(PropertyValue._meta.db_table, [*VALUE_FIELDS, "job_id", "updated_at"], updates)
        rows_update(Property._meta.db_table, [*CURRENT_VALUE_FIELDS, "updated_at"], current)
        _bulk_audits(county=county, entries=audits, actor=actor)
    return result
