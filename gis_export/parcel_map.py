"""What the parcel map draws: the parcels in a bounding box with the figures it colors them by, or, where the box
holds too many to draw (a county at its full extent), the same figures aggregated on a grid of square cells."""

from dataclasses import dataclass

import orjson
import shapely
from django.db.models import Avg, Count, F, FloatField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast, Floor, NullIf
from django.urls import reverse

from counties.models import County
from properties.geometry import bbox_overlapping
from properties.models import Property, PropertyValue

MAX_PARCELS = 4_000  # more parcels than this in the box: a grid instead (drawn fast by any browser)
GRID_CELLS = 48  # across the box's longer side
COLOR_BY = {
    "market_value": "Market value",
    "value_change": "Value change since the certified roll",
    "last_sale_price": "Last sale price",
    "neighborhood": "Neighborhood",
}


@dataclass(frozen=True)
class MapLayer:
    aggregated: bool
    features: list[dict]
    parcels: int  # in the box


def _in_box(county: County, bbox: list[float]) -> QuerySet:
    return Property.objects.filter(bbox_overlapping(*bbox), county=county, is_active=True)


def _with_change(parcels: QuerySet, county: County) -> QuerySet:
    """Each parcel's certified value of the county's certified roll year (`certified`) and its current market value's
    change from it (`change`, a share; NULL without a certified value above zero)."""
    certified = (
        PropertyValue.objects.filter(property=OuterRef("pk"), roll_year=county.certified_roll_year, is_certified=True)
        .order_by("source")
        .values("market_value")[:1]
    )
    return parcels.annotate(certified=Subquery(certified)).annotate(
        change=Cast(F("market_value"), FloatField()) / Cast(NullIf(F("certified"), 0), FloatField()) - 1.0
    )


def parcel_map_layer(*, county: County, bbox: list[float], color_by: str) -> MapLayer:
    parcels = _in_box(county, bbox)
    total = parcels.count()
    if color_by == "value_change":
        parcels = _with_change(parcels.filter(~Q(market_value=None)), county)
    if total > MAX_PARCELS:
        return MapLayer(aggregated=True, features=_grid(parcels, bbox, color_by), parcels=total)
    rows = list(
        parcels.order_by("id").values(
            "id", "parcel_number", "situs_address", "owner_name", "market_value", "last_sale_price",
            "last_sale_date", "geometry", neighborhood_code=F("neighborhood__code"),
            **({"certified_value": F("certified"), "value_change": F("change")} if color_by == "value_change" else {}),
        )
    )  # fmt: skip
    tolerance = max(bbox[2] - bbox[0], bbox[3] - bbox[1]) / 4000  # well under a pixel of the map
    geometries = shapely.from_wkb([bytes(wkb) if wkb else None for wkb in (row.pop("geometry") for row in rows)])
    simplified = shapely.to_geojson(shapely.simplify(geometries, tolerance, preserve_topology=True))
    features = []
    for row, text in zip(rows, simplified, strict=True):
        geometry = orjson.loads(text) if text is not None else None
        row["admin_url"] = reverse("admin:properties_property_change", args=[row["id"]])
        if row["last_sale_date"] is not None:
            row["last_sale_date"] = row["last_sale_date"].isoformat()
        features.append({"type": "Feature", "id": row["id"], "geometry": geometry, "properties": row})
    return MapLayer(aggregated=False, features=features, parcels=total)


def _grid(parcels: QuerySet, bbox: list[float], color_by: str) -> list[dict]:
    """Square cells over the box (GRID_CELLS across its longer side), each with its parcels' count and the mean of
    the figure (neighborhood: the count only), one GROUP BY on the parcels' points."""
    xmin, ymin, xmax, ymax = bbox
    size = max(xmax - xmin, ymax - ymin) / GRID_CELLS
    figure = {"market_value": Avg("market_value"), "last_sale_price": Avg("last_sale_price"),
              "value_change": Avg("change")}.get(color_by)  # fmt: skip
    cells = (
        parcels.exclude(longitude=None)
        .annotate(cx=Floor((F("longitude") - xmin) / size), cy=Floor((F("latitude") - ymin) / size))
        .values("cx", "cy")
        .annotate(parcels=Count("id"), **({"mean": figure} if figure is not None else {}))
        .order_by()
    )
    features = []
    for cell in cells:
        left, bottom = xmin + cell["cx"] * size, ymin + cell["cy"] * size
        ring = [
            [left, bottom],
            [left + size, bottom],
            [left + size, bottom + size],
            [left, bottom + size],
            [left, bottom],
        ]
        features.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"parcels": cell["parcels"], "mean": cell.get("mean")},
        })  # fmt: skip
    return features
