"""Parcel geometry helpers over WKB (shapely 2): derived columns, GeoJSON and SVG for the admin."""

import json

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry


def geometry_columns(wkb: bytes | None) -> dict:
    """The derived columns stored beside a geometry: bbox and a representative point as lat/lon."""
    if not wkb:
        return dict.fromkeys(("bbox_xmin", "bbox_ymin", "bbox_xmax", "bbox_ymax"), None)
    geom = shapely.from_wkb(bytes(wkb))
    xmin, ymin, xmax, ymax = geom.bounds
    point = geom.representative_point() if not geom.is_empty else None
    return {
        "bbox_xmin": xmin,
        "bbox_ymin": ymin,
        "bbox_xmax": xmax,
        "bbox_ymax": ymax,
        "longitude": point.x if point is not None else None,
        "latitude": point.y if point is not None else None,
    }


def wkb_to_geojson(wkb: bytes | memoryview | None) -> dict | None:
    if not wkb:
        return None
    return json.loads(shapely.to_geojson(shapely.from_wkb(bytes(wkb))))


def wkb_to_geojson_many(wkbs: list) -> list[dict | None]:
    """`wkb_to_geojson` of each, in one vectorised pass over a page of parcels."""
    present = [i for i, wkb in enumerate(wkbs) if wkb]
    out: list[dict | None] = [None] * len(wkbs)
    if present:
        texts = shapely.to_geojson(shapely.from_wkb([bytes(wkbs[i]) for i in present]))
        for i, text in zip(present, texts, strict=True):
            out[i] = json.loads(text)
    return out


def geojson_to_wkb(data: dict) -> bytes:
    geom: BaseGeometry = shapely.from_geojson(json.dumps(data))
    if not geom.is_valid:
        raise ValueError(f"invalid geometry: {shapely.is_valid_reason(geom)}")
    return shapely.to_wkb(geom)


def wkb_to_svg(wkb: bytes | memoryview | None, *, size: int = 240) -> str:
    """A standalone SVG drawing of the shape, scaled to fit a `size` pixel square, north up."""
    if not wkb:
        return ""
    geom = shapely.from_wkb(bytes(wkb))
    xmin, ymin, xmax, ymax = geom.bounds
    span = max(xmax - xmin, ymax - ymin) or 1.0
    pad = span * 0.05
    # SVG's y axis points down: flip the shape around its centre so north stays up.
    flipped = shapely.transform(geom, lambda c: c * [1, -1])
    view_box = f"{xmin - pad} {-ymax - pad} {xmax - xmin + 2 * pad} {ymax - ymin + 2 * pad}"
    stroke = span / 100
    paths = flipped.svg(scale_factor=1.0).replace('stroke-width="2.0"', f'stroke-width="{stroke}"')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="{view_box}" '
        f'preserveAspectRatio="xMidYMid meet" role="img" aria-label="parcel shape">{paths}</svg>'
    )


def projected_metres(latitude, longitude, epsg: int):
    """Points (WGS 84 degrees) in the county's projected CRS, in metres whatever the CRS's unit (US survey feet
    for Washington's State Plane): distances between them are then plain Euclidean ones. NaN where unknown."""
    crs = CRS.from_epsg(epsg)
    to_metres = crs.axis_info[0].unit_conversion_factor
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(np.asarray(longitude), np.asarray(latitude))
    return np.asarray(x) * to_metres, np.asarray(y) * to_metres


def bbox_overlapping(xmin: float, ymin: float, xmax: float, ymax: float):
    """The condition on a parcel's bbox columns (WGS84) that its extent overlaps the box: one definition for the API's
    filter, the GIS exports, the map and the OGC items."""
    from django.db.models import Q

    return Q(bbox_xmax__gte=xmin, bbox_xmin__lte=xmax, bbox_ymax__gte=ymin, bbox_ymin__lte=ymax)
