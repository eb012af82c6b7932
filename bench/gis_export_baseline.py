"""The straightforward export, the way the issue asks to time ours beside: the whole queryset of the county's parcels
loaded into a GeoDataFrame, then `to_file` (or `to_parquet`). Run as its own process (`python -m
bench.gis_export_baseline <slug> <format> <directory>`) so its peak RSS is its own."""

import sys
import time
from pathlib import Path

from bench.common import django_setup

COLUMNS = ["id", "parcel_number", "property_id", "situs_address", "situs_city", "situs_zip", "owner_name",
           "owner_address", "value_year", "land_value", "improvement_value", "market_value", "assessed_value",
           "property_type", "class_code", "living_area", "year_built", "effective_year", "bedrooms", "bathrooms",
           "quality", "condition", "land_area_sqft", "acreage", "last_sale_date", "last_sale_price"]  # fmt: skip
DRIVERS = {"gpkg": ("GPKG", "gpkg"), "flatgeobuf": ("FlatGeobuf", "fgb"), "geojson": ("GeoJSON", "geojson"),
           "shapefile": ("ESRI Shapefile", "shp"), "kml": ("KML", "kml"), "csv": ("CSV", "csv")}  # fmt: skip


def straightforward_export(slug: str, export_format: str, directory: Path) -> float:
    import geopandas
    import shapely

    from properties.models import Property

    started = time.perf_counter()
    parcels = list(Property.objects.filter(county__slug=slug, is_active=True).select_related("neighborhood"))
    frame = geopandas.GeoDataFrame(
        {
            **{name: [getattr(p, name) for p in parcels] for name in COLUMNS},
            "neighborhood": [p.neighborhood.code if p.neighborhood else None for p in parcels],
        },
        geometry=[shapely.from_wkb(bytes(p.geometry)) if p.geometry else None for p in parcels],
        crs="EPSG:4326",
    )
    for name in ("land_area_sqft", "acreage", "bathrooms"):
        frame[name] = frame[name].astype(float)
    if export_format == "geoparquet":
        frame.to_parquet(directory / "parcels.parquet")
    else:
        driver, extension = DRIVERS[export_format]
        frame.to_file(directory / f"parcels.{extension}", driver=driver, engine="pyogrio")
    return time.perf_counter() - started


if __name__ == "__main__":
    django_setup()
    print(f"{straightforward_export(sys.argv[1], sys.argv[2], Path(sys.argv[3])):.2f}")
