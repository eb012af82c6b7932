"""Reads for market analysis: a county's sales (with their parcels' values and characteristics) as numpy
columns, parcels by neighborhood, and the county's current time index. One query each, never one per row."""

import datetime
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import Count, F, FloatField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Cast

from counties.models import County
from market_analysis.models import TimeIndex
from properties.fields import VALUE_FIELDS as VALUE_TOTALS
from properties.models import Property, PropertyValue, Sale

# The sale columns a study reads, and their numpy types ("O": text).
SALE_COLUMNS = {
    "id": np.int64,
    "sale_id": "O",
    "property_key": np.int64,
    "parcel_number": "O",
    "neighborhood": "O",
    "class_code": "O",
    "sale_date": "datetime64[D]",
    "sale_price": np.float64,
}
CHARACTERISTIC_COLUMNS = {
    "living_area": np.float64,
    "effective_year": np.float64,
    "land_area_sqft": np.float64,
    "quality": "O",
    "condition": "O",
}
LOCATION_COLUMNS = {"property": np.int64, "latitude": np.float64, "longitude": np.float64}


@dataclass(frozen=True)
class SalesColumns:
    """Sales as aligned numpy columns (`columns[name]`), in sale-date order; NaN where a number is missing."""

    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.columns["id"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def take(self, mask_or_index) -> "SalesColumns":
        return SalesColumns({name: column[mask_or_index] for name, column in self.columns.items()})


def valid_sales(
    *, county: County, date_from: datetime.date | None = None, date_to: datetime.date | None = None,
    roll_year: int | None = None, value_source: str | None = None, classes: list[str] | None = None,
    characteristics: bool = False, location: bool = False,
) -> SalesColumns:  # fmt: skip
    """The county's valid (arm's-length, single-parcel) sales of real property in the date window.

    With `roll_year` and `value_source`, each sale carries its parcel's market value of that roll year from
    that source (`value`, NaN where the parcel has none); with `characteristics`, the parcel's living area,
    effective year, land area, quality and condition too; with `location`, the parcel's id (`property`) and its
    latitude and longitude.
    """
    sales = Sale.objects.filter(county=county, is_valid=True, is_multi_parcel=False, property__property_type="R")
    if date_from is not None:
        sales = sales.filter(sale_date__gte=date_from)
    if date_to is not None:
        sales = sales.filter(sale_date__lte=date_to)
    if classes:
        sales = sales.filter(property__class_code__in=classes)
    fields = {
        "id": F("id"),
        "sale_id": F("sale_id"),
        "property_key": F("property__property_id"),
        "parcel_number": F("property__parcel_number"),
        "neighborhood": F("property__neighborhood__code"),
        "class_code": F("property__class_code"),
        "sale_date": F("sale_date"),
        "sale_price": F("sale_price"),
    }
    types = dict(SALE_COLUMNS)
    if roll_year is not None:
        value = PropertyValue.objects.filter(property=OuterRef("property_id"), roll_year=roll_year, source=value_source)
        fields["value"] = Subquery(value.values("market_value")[:1])
        types["value"] = np.float64
    if characteristics:
        fields.update(characteristic_expressions("property__"))
        types.update(CHARACTERISTIC_COLUMNS)
    if location:
        fields.update({"property": F("property_id"), "latitude": F("property__latitude"),
                       "longitude": F("property__longitude")})  # fmt: skip
        types.update(LOCATION_COLUMNS)
    rows = rows_of(sales.order_by("sale_date", "id").values_list(*fields.values()))
    return SalesColumns(columns_of(rows, types))


def characteristic_expressions(prefix: str = "") -> dict:
    """The characteristics as query expressions: the land area read as a float (a Decimal per row costs more to
    make and to convert than the rest of the row)."""
    return {
        name: Cast(F(f"{prefix}{name}"), FloatField()) if name == "land_area_sqft" else F(f"{prefix}{name}")
        for name in CHARACTERISTIC_COLUMNS
    }


def rows_of(queryset) -> list[tuple]:
    """A values_list queryset's rows straight from the cursor: none of Django's per-row conversion (the selects are
    typed in SQL: text, integers, floats and dates come as they are needed). A third of a million-row read's time."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def columns_of(rows: list[tuple], types: dict) -> dict[str, np.ndarray]:
    """Rows of a values_list as numpy columns: numbers as float with NaN for NULL, text with "" for NULL."""
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in types]
    columns = {}
    for (name, kind), values in zip(types.items(), transposed, strict=True):
        if kind in ("O", np.float64):
            # Whole-array steps (NULLs found by one comparison), not a Python expression per value.
            column = np.empty(len(values), dtype=object)
            column[:] = values
            missing = column == None  # noqa: E711 - elementwise, on an object array
            if kind == "O":
                column[missing] = ""
                # A database column has one type: its first value says whether its values are text already.
                known = column[~missing][:1]
                columns[name] = column if all(type(v) is str for v in known) else column.astype(str).astype(object)
            else:
                column[missing] = np.nan
                columns[name] = column.astype(np.float64)
        else:
            columns[name] = np.array(values, dtype=kind)
    return columns


def parcel_values(*, county: County, roll_year: int, value_source: str) -> SalesColumns:
    """The county's active real parcels: neighborhood and class code, and the market value of the roll year
    from the source (NaN where none)."""
    value = PropertyValue.objects.filter(property=OuterRef("pk"), roll_year=roll_year, source=value_source)
    rows = list(
        Property.objects.filter(county=county, is_active=True, property_type="R")
        .annotate(value=Subquery(value.values("market_value")[:1]))
        .values_list("neighborhood__code", "class_code", "value")
    )
    return SalesColumns(columns_of(rows, {"neighborhood": "O", "class_code": "O", "value": np.float64}))


def neighborhood_value_totals(*, county: County, roll_year: int, value_source: str) -> dict[str, dict]:
    """Per neighborhood code: parcels (all and active) and the roll year's value totals from the source."""
    year_values = Q(values__roll_year=roll_year, values__source=value_source)
    rows = (
        Property.objects.filter(county=county, property_type="R")
        .values("neighborhood__code", "neighborhood__name")
        .annotate(
            parcels=Count("id", distinct=True),
            active_parcels=Count("id", filter=Q(is_active=True), distinct=True),
            valued_parcels=Count("values", filter=year_values),
            **{field: Sum(f"values__{field}", filter=year_values) for field in VALUE_TOTALS},
        )
        .order_by("neighborhood__code")
    )
    counted = ("parcels", "active_parcels", "valued_parcels", *VALUE_TOTALS)
    return {
        row["neighborhood__code"] or "": {
            "name": row["neighborhood__name"] or "",
            **{k: int(row[k] or 0) for k in counted},
        }
        for row in rows
    }


def time_index_current(*, county: County) -> TimeIndex | None:
    """The county's newest time index, with its months."""
    return TimeIndex.objects.filter(county=county).prefetch_related("months").order_by("-created_at").first()
