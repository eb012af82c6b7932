"""Reads for GIS export: which parcels (the filters) and which columns (the attributes), which terrafusion.arrow
reads as record batches a batch at a time (a million parcels are never all in memory); the county's extent."""

import pyarrow as pa
from django.core.cache import cache
from django.db.models import F, FilteredRelation, FloatField, Max, Min, Q, QuerySet
from django.db.models.functions import Cast

from counties.models import County
from gis_export.choices import Attribute
from properties.geometry import bbox_overlapping
from properties.models import Property
from terrafusion.arrow import Column


def _float(field: str) -> Cast:
    return Cast(field, FloatField())  # a decimal as a float: Arrow and every GIS format read it as a number


def _columns(attribute: str, roll_year: int | None) -> list[Column]:
    """The columns of an attribute group. Values: each parcel's current ones, or those of `roll_year` (the
    `year_values` relation the queryset then carries)."""
    if attribute == Attribute.PARCEL_NUMBER:
        return [Column("parcel_number", F("parcel_number"), pa.string()),
                Column("property_id", F("property_id"), pa.int64())]  # fmt: skip
    if attribute == Attribute.ADDRESS:
        return [Column(name, F(name), pa.string()) for name in ("situs_address", "situs_city", "situs_zip")]
    if attribute == Attribute.OWNER:
        return [Column(name, F(name), pa.string()) for name in ("owner_name", "owner_address")]
    if attribute == Attribute.VALUES:
        source = "" if roll_year is None else "year_values__"
        year = F("value_year") if roll_year is None else F("year_values__roll_year")
        return [
            Column("value_year", year, pa.int64()),
            *(Column(name, F(source + name), pa.int64())
              for name in ("land_value", "improvement_value", "market_value", "assessed_value")),
        ]  # fmt: skip
    if attribute == Attribute.CHARACTERISTICS:
        return [
            Column("property_type", F("property_type"), pa.string()),
            Column("class_code", F("class_code"), pa.string()),
            Column("neighborhood", F("neighborhood__code"), pa.string()),
            Column("living_area", F("living_area"), pa.int64()),
            Column("year_built", F("year_built"), pa.int64()),
            Column("effective_year", F("effective_year"), pa.int64()),
            Column("bedrooms", F("bedrooms"), pa.int64()),
            Column("bathrooms", _float("bathrooms"), pa.float64()),
            Column("quality", F("quality"), pa.string()),
            Column("condition", F("condition"), pa.string()),
            Column("land_area_sqft", _float("land_area_sqft"), pa.float64()),
            Column("acreage", _float("acreage"), pa.float64()),
        ]
    if attribute == Attribute.LAST_SALE:
        return [Column("last_sale_date", F("last_sale_date"), pa.date32()),
                Column("last_sale_price", F("last_sale_price"), pa.int64())]  # fmt: skip
    raise ValueError(f"unknown attribute {attribute!r}")


def export_columns(attributes: list[str], roll_year: int | None = None) -> list[Column]:
    """The parcel's TerraFusion id (`tf_id`: KML and GeoPackage keep `id` and `fid` for their own), the attributes'
    columns in the order asked, and the geometry (WKB, WGS84) last."""
    columns = [Column("tf_id", F("id"), pa.int64())]
    for attribute in attributes:
        columns.extend(_columns(attribute, roll_year))
    return [*columns, Column("geometry", F("geometry"), pa.binary())]


def county_extent(county: County) -> list[float] | None:
    """[min_lon, min_lat, max_lon, max_lat] of the county's parcels (None without any), cached a few minutes."""
    key = f"gis:extent:{county.pk}"
    extent = cache.get(key)
    if extent is None:
        bounds = Property.objects.filter(county=county).aggregate(
            xmin=Min("bbox_xmin"), ymin=Min("bbox_ymin"), xmax=Max("bbox_xmax"), ymax=Max("bbox_ymax")
        )
        extent = [bounds["xmin"], bounds["ymin"], bounds["xmax"], bounds["ymax"]]
        cache.set(key, extent, EXTENT_CACHE_SECONDS)
    return None if None in extent else extent


EXTENT_CACHE_SECONDS = 300


def parcels_for_export(
    *, county: County, filters: dict, roll_year: int | None = None, value_source: str = ""
) -> QuerySet:
    """The county's parcels the filters select (see ExportFiltersSerializer), in id order; with `roll_year`, each
    joined to its values of that year from `value_source` (as `year_values`, at most one by the unique key)."""
    parcels = Property.objects.filter(county=county)
    if filters.get("active") is not None:
        parcels = parcels.filter(is_active=filters["active"])
    if filters.get("neighborhoods"):
        parcels = parcels.filter(neighborhood__code__in=filters["neighborhoods"])
    if filters.get("property_classes"):
        parcels = parcels.filter(class_code__in=filters["property_classes"])
    if filters.get("min_value") is not None:
        parcels = parcels.filter(market_value__gte=filters["min_value"])
    if filters.get("max_value") is not None:
        parcels = parcels.filter(market_value__lte=filters["max_value"])
    if filters.get("bbox"):
        parcels = parcels.filter(bbox_overlapping(*filters["bbox"]))
    if roll_year is not None:
        values = Q(values__roll_year=roll_year, values__source=value_source)
        parcels = parcels.annotate(year_values=FilteredRelation("values", condition=values))
    return parcels.order_by("id")
