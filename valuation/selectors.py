"""Reads for valuation: the parcels to value, as numpy columns (one query)."""

import numpy as np

from counties.models import County
from market_analysis.selectors import CHARACTERISTIC_COLUMNS, SalesColumns, columns_of
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
    fields = [name if name != "neighborhood" else "neighborhood__code" for name in PARCEL_COLUMNS]
    return SalesColumns(columns_of(list(parcels.order_by("id").values_list(*fields)), PARCEL_COLUMNS))


def parcel_ids(*, county: County, neighborhoods: list[str] | None = None) -> np.ndarray:
    """The ids of the parcels `parcels_to_value` reads, in order: what the chunks of a mass appraisal split."""
    parcels = _real_parcels(county, neighborhoods, active_only=True)
    return np.array(list(parcels.order_by("id").values_list("id", flat=True)), dtype=np.int64)


def _real_parcels(county: County, neighborhoods: list[str] | None, active_only: bool):
    parcels = Property.objects.filter(county=county, property_type="R")
    if active_only:
        parcels = parcels.filter(is_active=True)
    if neighborhoods:
        parcels = parcels.filter(neighborhood__code__in=neighborhoods)
    return parcels
