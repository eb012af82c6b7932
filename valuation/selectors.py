"""Reads for valuation: the parcels to value, as numpy columns (one query)."""

import itertools

import numpy as np
from django.db.models import Count, F, Max, Min

from counties.models import County
from market_analysis.selectors import (
    CHARACTERISTIC_COLUMNS,
    SalesColumns,
    characteristic_expressions,
    columns_of,
    rows_of,
)
from properties.models import Property

PARCEL_COLUMNS = {
    "id": np.int64,
    "neighborhood": "O",
    "class_code": "O",
    **CHARACTERISTIC_COLUMNS,
    "market_value": np.float64,
    "land_value": np.float64,
    "latitude": np.float64,
    "longitude": np.float64,
}


def parcels_to_value(
    *, county: County, neighborhoods: list[str] | None = None, id_range: tuple[int, int] | None = None,
    ids: list[int] | None = None, active_only: bool = True,
) -> SalesColumns:  # fmt: skip
    """The county's active real parcels (of some neighborhoods, by code; with ids from id_range[0] to id_range[1]
    inclusive; or just `ids`) with their characteristics, current market and land values and location."""
    parcels = _real_parcels(county, neighborhoods, active_only)
    if id_range is not None:
        parcels = parcels.filter(id__gte=id_range[0], id__lte=id_range[1])
    if ids is not None:
        parcels = parcels.filter(id__in=ids)
    fields = {
        "id": F("id"), "neighborhood": F("neighborhood__code"), "class_code": F("class_code"),
        **characteristic_expressions(), **{name: F(name) for name in ("market_value", "land_value", "latitude",
                                                                        "longitude")},
    }  # fmt: skip
    rows = parcels.order_by("id").values_list(*fields.values())
    return SalesColumns(columns_of(rows_of(rows), {name: PARCEL_COLUMNS[name] for name in fields}))


def parcel_id_ranges(*, county: County, neighborhoods: list[str] | None = None, size: int) -> list[tuple[int, int]]:
    """The ids of the parcels `parcels_to_value` reads, cut into ranges (low, high inclusive) of about `size`
    parcels each: equal spans of ids, which the county's dense ids fill about evenly (one query, no id list)."""
    bounds = _real_parcels(county, neighborhoods, active_only=True).aggregate(
        low=Min("id"), high=Max("id"), n=Count("id")
    )
    if not bounds["n"]:
        return []
    parts = -(-bounds["n"] // size)
    edges = np.linspace(bounds["low"], bounds["high"] + 1, parts + 1).round().astype(np.int64)
    return [(int(low), int(high) - 1) for low, high in itertools.pairwise(edges)]


def _real_parcels(county: County, neighborhoods: list[str] | None, active_only: bool):
    parcels = Property.objects.filter(county=county, property_type="R")
    if active_only:
        parcels = parcels.filter(is_active=True)
    if neighborhoods:
        parcels = parcels.filter(neighborhood__code__in=neighborhoods)
    return parcels
