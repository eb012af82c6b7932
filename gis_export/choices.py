from django.db import models


class ExportFormat(models.TextChoices):
    GEOJSON = "geojson", "GeoJSON"
    GPKG = "gpkg", "GeoPackage"
    SHAPEFILE = "shapefile", "Shapefile (zip)"
    FLATGEOBUF = "flatgeobuf", "FlatGeobuf"
    KML = "kml", "KML"
    GEOPARQUET = "geoparquet", "GeoParquet"
    CSV = "csv", "CSV with WKT geometry"


class Attribute(models.TextChoices):
    """The groups of columns an export can carry (every feature also has its TerraFusion id, `tf_id`)."""

    PARCEL_NUMBER = "parcel_number", "Parcel number and PACS property id"
    ADDRESS = "address", "Situs address, city and ZIP"
    OWNER = "owner", "Owner name and mailing address"
    VALUES = "values", "Values of a roll year"
    CHARACTERISTICS = "characteristics", "Characteristics"
    LAST_SALE = "last_sale", "Last sale"
