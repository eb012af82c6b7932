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
}


def parcels_to_value(*, county: County, neighborhoods: list[str] | None = None) -> SalesColumns:
    """The county's active real parcels (of some neighborhoods, by code) with their characteristics and
    current market and land values."""
    parcels = Property.objects.filter(county=county, is_active=True, property_type="R")
    if neighborhoods:
        parcels = parcels.filter(neighborhood__code__in=neighborhoods)
    fields = ["id", "neighborhood__code", "class_code", *CHARACTERISTIC_COLUMNS, "market_value", "land_value"]
    return SalesColumns(columns_of(list(parcels.order_by("id").values_list(*fields)), PARCEL_COLUMNS))
