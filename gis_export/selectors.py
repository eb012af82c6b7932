"""Reads for GIS export: the county's parcels as Arrow record batches of the chosen columns, in id order, a batch
at a time (a million parcels are never all in memory)."""

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import pyarrow as pa
from django.core.cache import cache
from django.db import connection
from django.db.models import F, FilteredRelation, FloatField, Max, Min, Q, QuerySet
from django.db.models.functions import Cast

from counties.models import County
from gis_export.choices import Attribute
from properties.models import Property


@dataclass(frozen=True)
class Column:
    name: str
    expression: object  # what values_list selects
    type: pa.DataType


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
        xmin, ymin, xmax, ymax = filters["bbox"]
        parcels = parcels.filter(bbox_xmax__gte=xmin, bbox_xmin__lte=xmax, bbox_ymax__gte=ymin, bbox_ymin__lte=ymax)
    if roll_year is not None:
        values = Q(values__roll_year=roll_year, values__source=value_source)
        parcels = parcels.annotate(year_values=FilteredRelation("values", condition=values))
    return parcels.order_by("id")


def query_batches(rows: QuerySet, columns: list[Column], batch_size: int) -> Iterator[pa.RecordBatch]:
    """The columns of the queryset's rows (parcels, or any table) as record batches of at most `batch_size` rows,
    from one query. On PostgreSQL, Arrow's own driver (ADBC: a binary COPY decoded in C, a quarter of the time of a
    cursor's rows); elsewhere (the quick start's SQLite), a cursor's rows a batch at a time."""
    schema = pa.schema([(column.name, column.type) for column in columns])
    sql, params = rows.values_list(*(column.expression for column in columns)).query.sql_with_params()
    batches = _adbc_batches(sql, params) if connection.vendor == "postgresql" else _cursor_batches(sql, params, schema)
    for batch in batches:
        batch = pa.RecordBatch.from_arrays([c.cast(f.type) for c, f in zip(batch.columns, schema, strict=True)],
                                           schema=schema)  # fmt: skip
        for start in range(0, batch.num_rows, batch_size):
            yield batch.slice(start, batch_size)


def _adbc_batches(sql: str, params) -> Iterator[pa.RecordBatch]:
    """The query's rows from PostgreSQL as Arrow batches (their types as PostgreSQL's: cast by the caller). Its own
    connection, as the database's settings say; the parameters bound by psycopg's client-side quoting."""
    import adbc_driver_postgresql.dbapi
    import psycopg

    connection.ensure_connection()
    with psycopg.ClientCursor(connection.connection) as quoting:
        statement = quoting.mogrify(sql, params)
    with adbc_driver_postgresql.dbapi.connect(_libpq_uri(connection.settings_dict)) as arrow, arrow.cursor() as cursor:
        cursor.execute(statement)
        yield from cursor.fetch_record_batch()


def _libpq_uri(database: dict) -> str:
    credentials = quote(database["USER"] or "", safe="")
    if database.get("PASSWORD"):
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database.get("HOST") or "localhost"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    options = {key: value for key, value in database.get("OPTIONS", {}).items() if key in LIBPQ_OPTIONS}
    query = f"?{urlencode(options)}" if options else ""
    return f"postgresql://{credentials}@{quote(host, safe='')}{port}/{quote(database['NAME'], safe='')}{query}"


LIBPQ_OPTIONS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name")


def _cursor_batches(sql: str, params, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The query's rows through Django's cursor (server-side on PostgreSQL), a batch at a time."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CURSOR_BATCH_ROWS):
            yield pa.record_batch(
                [_array(values, field.type) for values, field in zip(zip(*rows, strict=True), schema, strict=True)],
                schema=schema,
            )


CURSOR_BATCH_ROWS = 20_000


def _array(values: tuple, kind: pa.DataType) -> pa.Array:
    if kind == pa.date32() and any(isinstance(value, str) for value in values):  # SQLite gives dates as ISO text
        return pa.array(values, pa.string()).cast(kind)
    if kind == pa.bool_() and any(isinstance(value, int) and not isinstance(value, bool) for value in values):
        return pa.array(values, pa.int64()).cast(kind)  # and booleans as 0 and 1
    return pa.array(values, kind)
