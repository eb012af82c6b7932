"""Validation of an upload, row by row, against the county's data: what the file would insert, update and leave
unchanged, and each rejected row with its row number, field and reason. It reads the county's parcels (and their
sales or value rows) in bulk, a query per 20,000 parcel numbers, never one per row, and changes nothing.

One set of rules per kind of file (`RULES`): what each field must be, and the rules across fields.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from ingestion.uploads import KINDS, Table, UploadKind
from properties.choices import Condition, Quality
from properties.models import Property, PropertyValue, Sale

REJECTS_IN_PREVIEW = 1000
LOOKUP_BATCH = 20_000
MAX_MONEY = 10**14


@dataclass
class Reject:
    row: int
    field: str
    reason: str
    value: str = ""


@dataclass
class Preview:
    rows: int = 0
    insert: int = 0
    update: int = 0
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list)
    valid: list[tuple[int, dict]] = field(default_factory=list)  # (row number, its cleaned fields)

    def as_dict(self) -> dict:
        rejected_rows = len({r.row for r in self.rejects})
        return {
            "rows": self.rows, "insert": self.insert, "update": self.update, "unchanged": self.unchanged,
            "rejected": rejected_rows, "rejects": [r.__dict__ for r in self.rejects[:REJECTS_IN_PREVIEW]],
            "rejects_listed": min(len(self.rejects), REJECTS_IN_PREVIEW), "rejects_total": len(self.rejects),
        }  # fmt: skip


# -- cell rules: text -> value, or ValueError with the reason -----------------------------------------------------


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            number = Decimal(text.replace(",", "").replace("$", ""))
        except InvalidOperation:
            raise ValueError("must be a whole number") from None
        if number != number.to_integral_value():
            raise ValueError("must be a whole number")
        if not low <= number <= high:
            raise ValueError(f"must be between {low:,} and {high:,}")
        return int(number)

    return parse


def _decimal(low: float, high: float, places: int) -> Callable[[str], Decimal]:
    def parse(text: str) -> Decimal:
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")
        return round(number, places)

    return parse


def _choice(choices) -> Callable[[str], str]:
    """A code of the choices, given as its value or its label, any case ("Very good", "very_good")."""
    values = {value: value for value in choices.values} | {label.lower(): value for value, label in choices.choices}

    def parse(text: str) -> str:
        key = text.strip().lower()
        found = values.get(key.replace(" ", "_")) or values.get(key)
        if found is None:
            raise ValueError(f"must be one of {', '.join(choices.values)}")
        return found

    return parse


def _text(length: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if len(text) > length:
            raise ValueError(f"at most {length} characters")
        return text

    return parse


DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d")


def _date(text: str) -> datetime.date:
    for pattern in DATE_FORMATS:
        try:
            day = datetime.datetime.strptime(text[:10], pattern).date()
        except ValueError:
            continue
        if day > timezone.localdate():
            raise ValueError("is in the future")
        if day.year < 1900:
            raise ValueError("is before 1900")
        return day
    raise ValueError("must be a date (YYYY-MM-DD or MM/DD/YYYY)")


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "y", "t", "valid"):
        return True
    if lowered in ("0", "false", "no", "n", "f", "invalid"):
        return False
    raise ValueError("must be yes or no (true/false, 1/0)")


YEAR = _whole(1700, 2200)
MONEY = _whole(0, MAX_MONEY - 1)
RULES: dict[str, dict[str, Callable[[str], object]]] = {
    UploadKind.PROPERTY_CHARACTERISTICS: {
        "class_code": _text(20), "living_area": _whole(0, 1_000_000), "year_built": YEAR, "effective_year": YEAR,
        "bedrooms": _whole(0, 100), "bathrooms": _decimal(0, 100, 2), "quality": _choice(Quality),
        "condition": _choice(Condition), "land_area_sqft": _decimal(0, 10**11, 2), "acreage": _decimal(0, 10**7, 4),
    },
    UploadKind.SALES: {
        "sale_date": _date, "sale_price": MONEY, "sale_id": _whole(1, 2**62), "adjusted_price": MONEY,
        "deed_type": _text(20), "validity_code": _text(10), "is_valid": _boolean, "excise_number": _text(40),
    },
    UploadKind.VALUE_ADJUSTMENTS: {
        "roll_year": _whole(1900, 2200), "land_value": MONEY, "improvement_value": MONEY, "market_value": MONEY,
        "assessed_value": MONEY, "reason": _text(200),
    },
}  # fmt: skip


def _parcels(county, numbers: set[str]) -> dict[str, Property]:
    """The county's parcels of these numbers (a duplicated parcel number: its lowest id), in bulk."""
    found: dict[str, Property] = {}
    ordered = sorted(numbers)
    for start in range(0, len(ordered), LOOKUP_BATCH):
        for parcel in Property.objects.filter(
            county=county, parcel_number__in=ordered[start : start + LOOKUP_BATCH]
        ).order_by("-id"):
            found[parcel.parcel_number] = parcel
    return found


def upload_validate(*, county, kind: str, table: Table) -> Preview:
    """Check every row of the table (see the module's doc); nothing is written."""
    preview = Preview(rows=len(table.rows))
    rules = RULES[kind]
    cleaned: list[tuple[int, dict]] = []
    for number, cells in table.rows:
        values, problems = {}, []
        for name, text in zip(table.columns, cells, strict=False):
            if not name or text == "":
                continue
            if name == "parcel_number":
                values[name] = text
                continue
            try:
                values[name] = rules[name](text)
            except ValueError as exc:
                problems.append(Reject(number, name, str(exc), text[:200]))
        for name in KINDS[kind].required:  # a required column's cell left blank
            if name not in values and not any(p.field == name for p in problems):
                problems.append(Reject(number, name, "is required"))
        if problems:
            preview.rejects.extend(problems)
        else:
            cleaned.append((number, values))
    parcels = _parcels(county, {values["parcel_number"] for _, values in cleaned})
    CHECKS[kind](county, cleaned, parcels, preview)
    return preview


def _known(number: int, values: dict, parcels: dict, preview: Preview) -> Property | None:
    parcel = parcels.get(values["parcel_number"])
    if parcel is None:
        preview.rejects.append(Reject(number, "parcel_number", "no parcel of this number in the county",
                                      values["parcel_number"]))  # fmt: skip
    return parcel


def _characteristics(county, cleaned, parcels, preview: Preview) -> None:
    seen: dict[str, int] = {}
    for number, values in cleaned:
        parcel = _known(number, values, parcels, preview)
        if parcel is None:
            continue
        first = seen.get(values["parcel_number"])
        if first is not None:
            preview.rejects.append(Reject(number, "parcel_number", f"the same parcel as row {first}",
                                          values["parcel_number"]))  # fmt: skip
            continue
        seen[values["parcel_number"]] = number
        built, effective = (
            values.get("year_built", parcel.year_built),
            values.get("effective_year", parcel.effective_year),
        )
        if built and effective and effective < built:
            preview.rejects.append(Reject(number, "effective_year", f"before the year built ({built})", str(effective)))
            continue
        changes = {k: v for k, v in values.items() if k != "parcel_number" and getattr(parcel, k) != v}
        preview.valid.append((number, {"property": parcel.pk, **changes}))
        if changes:
            preview.update += 1
        else:
            preview.unchanged += 1


def _sales(county, cleaned, parcels, preview: Preview) -> None:
    known = [p.pk for p in parcels.values()]
    existing = {}
    for start in range(0, len(known), LOOKUP_BATCH):
        for sale in Sale.objects.filter(county=county, property_id__in=known[start : start + LOOKUP_BATCH]):
            existing[(sale.property_id, sale.sale_id)] = sale
            existing[(sale.property_id, sale.sale_date, sale.sale_price)] = sale
    seen: dict[tuple, int] = {}
    for number, values in cleaned:
        parcel = _known(number, values, parcels, preview)
        if parcel is None:
            continue
        key = (
            (parcel.pk, values["sale_id"])
            if "sale_id" in values
            else (parcel.pk, values["sale_date"], values["sale_price"])
        )
        if key in seen:
            preview.rejects.append(Reject(number, "sale_id" if "sale_id" in values else "sale_date",
                                          f"the same sale as row {seen[key]}"))  # fmt: skip
            continue
        seen[key] = number
        sale = existing.get(key)
        preview.valid.append((number, {"property": parcel.pk, **values}))
        if sale is None:
            preview.insert += 1
        elif all(getattr(sale, k) == v for k, v in values.items() if k != "parcel_number"):
            preview.unchanged += 1
        else:
            preview.update += 1


def _value_adjustments(county, cleaned, parcels, preview: Preview) -> None:
    known = [p.pk for p in parcels.values()]
    rows = {}
    for start in range(0, len(known), LOOKUP_BATCH):
        for value in PropertyValue.objects.filter(county=county, property_id__in=known[start : start + LOOKUP_BATCH]):
            rows.setdefault((value.property_id, value.roll_year), []).append(value)
    seen: dict[tuple, int] = {}
    for number, values in cleaned:
        parcel = _known(number, values, parcels, preview)
        if parcel is None:
            continue
        land, improvement = values["land_value"], values["improvement_value"]
        market = values.setdefault("market_value", land + improvement)
        if market != land + improvement:
            preview.rejects.append(Reject(number, "market_value", f"must equal land + improvements "
                                          f"({land:,} + {improvement:,})", str(market)))  # fmt: skip
            continue
        key = (parcel.pk, values["roll_year"])
        if key in seen:
            preview.rejects.append(Reject(number, "roll_year", f"the same parcel and roll year as row {seen[key]}"))
            continue
        seen[key] = number
        year_rows = rows.get(key, [])
        if any(row.is_certified for row in year_rows):
            preview.rejects.append(Reject(number, "roll_year", "the roll year's values are certified",
                                          str(values["roll_year"])))  # fmt: skip
            continue
        current = next((row for row in year_rows if row.source == "import"), None)
        preview.valid.append((number, {"property": parcel.pk, **values}))
        if current is None:
            preview.insert += 1
        elif all(getattr(current, k) == values.get(k) for k in ("land_value", "improvement_value", "market_value")):
            preview.unchanged += 1
        else:
            preview.update += 1


CHECKS = {
    UploadKind.PROPERTY_CHARACTERISTICS: _characteristics,
    UploadKind.SALES: _sales,
    UploadKind.VALUE_ADJUSTMENTS: _value_adjustments,
}
