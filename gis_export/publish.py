"""Publication of a roll year: the county's parcel layer with that year's values as GeoParquet in the archive
storage (one file per county and roll year), the same layer loaded into the GIS database (PostGIS, when
GIS_DATABASE_URL names one), and beside it the analytics store: the county's value history, sales and valuation
results of the roll year as Parquet, partitioned by county and roll year (Hive-style paths any Parquet engine reads:
DuckDB, Spark, Trino, Athena).

    archive/parcels/county=<slug>/roll_year=<year>/parcels.parquet
    archive/value_history/county=<slug>/roll_year=<year>/part-0.parquet
    archive/sales/county=<slug>/roll_year=<year>/part-0.parquet   (the sales of the year before its valuation date)
    archive/valuation_results/county=<slug>/roll_year=<year>/part-0.parquet
"""

import contextlib
import datetime
import io
import json
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq
import shapely
from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import connection
from django.db.models import CharField, F
from django.db.models.functions import Cast

from counties.models import County
from gis_export.choices import Attribute, ExportFormat
from gis_export.services import gis_export_write
from market_analysis.services import valuation_date
from properties.models import PropertyValue, Sale
from terrafusion.arrow import Column, query_batches
from valuation.models import ValuationResult

GIS_TABLE = "terrafusion_parcels"


def _column(name: str, kind: pa.DataType, field: str | None = None) -> Column:
    return Column(name, F(field or name), kind)


INT, TEXT, BOOL = pa.int64(), pa.string(), pa.bool_()
TABLES = {
    "value_history": [
        _column("property", INT, "property_id"),
        _column("parcel_number", TEXT, "property__parcel_number"),
        _column("source", TEXT),
        *(_column(name, INT) for name in ("land_value", "improvement_value", "market_value", "assessed_value")),
        _column("is_certified", BOOL),
    ],
    "sales": [
        _column("sale", INT, "id"),
        _column("property", INT, "property_id"),
        _column("parcel_number", TEXT, "property__parcel_number"),
        _column("neighborhood", TEXT, "property__neighborhood__code"),
        _column("class_code", TEXT, "property__class_code"),
        _column("sale_id", INT),
        _column("sale_date", pa.date32()),
        _column("sale_price", INT),
        _column("validity_code", TEXT),
        _column("is_valid", BOOL),
        _column("is_multi_parcel", BOOL),
    ],
    "valuation_results": [
        Column("job", Cast("job_id", CharField()), TEXT),
        _column("property", INT, "property_id"),
        _column("method", TEXT),
        *(
            _column(name, INT)
            for name in ("estimate", "land_value", "improvement_value", "low", "high", "current_value")
        ),
        _column("change", pa.float64()),
    ],
}


def partition(dataset: str, county: County, roll_year: int) -> str:
    return f"{dataset}/county={county.slug}/roll_year={roll_year}"


def _rows(dataset: str, county: County, roll_year: int):
    if dataset == "value_history":
        return PropertyValue.objects.filter(county=county, roll_year=roll_year).order_by("property_id", "source")
    if dataset == "sales":
        end = valuation_date(county, roll_year)
        start = valuation_date(county, roll_year - 1)
        return Sale.objects.filter(county=county, sale_date__gte=start, sale_date__lt=end).order_by("id")
    return ValuationResult.objects.filter(county=county, roll_year=roll_year).order_by("job_id", "property_id")


def _store(archive, name: str, local: Path) -> str:
    """The local file saved as `name` in the archive, replacing what was there (a publication run again)."""
    if archive.exists(name):
        archive.delete(name)
    with local.open("rb") as handle:
        return archive.save(name, File(handle, name=local.name))


@contextlib.contextmanager
def _publishing(county: County, roll_year: int):
    """One publication of a county's roll year at a time (a PostgreSQL advisory lock, held until it is done): two at
    once would each replace the other's rows and files."""
    if connection.vendor != "postgresql":
        yield
        return
    key = zlib.crc32(f"gis-publish {county.pk} {roll_year}".encode())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def gis_publish(*, county: County, roll_year: int, value_source: str, progress=None) -> dict:
    """Publish the roll year (see the module's doc); the job's result summary. Publications of the same county and
    year wait for each other."""
    with _publishing(county, roll_year):
        return _publish(county=county, roll_year=roll_year, value_source=value_source, progress=progress)


def _publish(*, county: County, roll_year: int, value_source: str, progress) -> dict:
    archive = storages["archive"]
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    parameters = {
        "format": ExportFormat.GEOPARQUET, "attributes": list(Attribute.values), "crs": "EPSG:4326",
        "filters": {"active": True}, "roll_year": roll_year, "value_source": value_source,
    }  # fmt: skip
    metadata = {"county": county.slug, "roll_year": roll_year, "source": value_source, "created_at": created}
    summary = {"roll_year": roll_year, "value_source": value_source, "created_at": created, "archive": {}}
    with tempfile.TemporaryDirectory(prefix="gis-publish-") as directory:
        layer, written = gis_export_write(
            county=county, parameters=parameters, directory=Path(directory), progress=progress,
            file_metadata={**metadata, "dataset": "parcels"},
        )  # fmt: skip
        name = _store(archive, f"{partition('parcels', county, roll_year)}/parcels.parquet", written.files[0])
        summary["archive"]["parcels"] = {"path": name, "rows": layer["parcels"], "size": layer["size"]}
        if settings.GIS_DATABASE_URL:
            summary["gis_database"] = postgis_load(written.files[0], county=county, roll_year=roll_year)
        for dataset, columns in TABLES.items():
            local = Path(directory) / f"{dataset}.parquet"
            rows = _parquet_write(
                query_batches(_rows(dataset, county, roll_year), columns, settings.GIS_EXPORT_BATCH_PARCELS),
                pa.schema([(c.name, c.type) for c in columns]), local, {**metadata, "dataset": dataset},
            )  # fmt: skip
            name = _store(archive, f"{partition(dataset, county, roll_year)}/part-0.parquet", local)
            summary["archive"][dataset] = {"path": name, "rows": rows, "size": local.stat().st_size}
    return summary


def _parquet_write(batches: Iterator[pa.RecordBatch], schema: pa.Schema, path: Path, metadata: dict) -> int:
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
        writer.add_key_value_metadata({"terrafusion": json.dumps({**metadata, "rows": rows})})
    return rows


# -- the GIS database ----------------------------------------------------------------------------------------------

_PG_TYPES = {pa.int64(): "bigint", pa.string(): "text", pa.float64(): "double precision", pa.date32(): "date"}


def postgis_load(layer: Path, *, county: County, roll_year: int) -> dict:
    """The published layer into GIS_TABLE of the PostGIS database at GIS_DATABASE_URL: the county's rows of the roll
    year replaced in one transaction (readers see the old rows or the new, never a mix), by COPY a batch of
    GIS_EXPORT_BATCH_PARCELS at a time. Geometry as EWKB with SRID 4326."""
    import psycopg

    parquet = pq.ParquetFile(layer)
    fields = [f for f in parquet.schema_arrow if f.name != "geometry"]
    columns = ", ".join(f'"{f.name}" {_PG_TYPES[f.type]}' for f in fields)
    url = settings.GIS_DATABASE_URL.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url) as gis, gis.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {GIS_TABLE} (county text NOT NULL, roll_year integer NOT NULL, {columns}, "
            "geometry geometry(Geometry, 4326))"
        )
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {GIS_TABLE}_county_year ON {GIS_TABLE} (county, roll_year)")
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {GIS_TABLE}_geometry ON {GIS_TABLE} USING gist (geometry)")
        cursor.execute(f"DELETE FROM {GIS_TABLE} WHERE county = %s AND roll_year = %s", [county.slug, roll_year])  # noqa: S608 - a constant table name
        names = ", ".join(["county", "roll_year", *(f'"{f.name}"' for f in fields), "geometry"])
        rows = 0
        with cursor.copy(f"COPY {GIS_TABLE} ({names}) FROM STDIN (FORMAT csv)") as copy:
            for batch in parquet.iter_batches(batch_size=settings.GIS_EXPORT_BATCH_PARCELS):
                copy.write(_csv(batch, county.slug, roll_year))
                rows += batch.num_rows
    return {"table": GIS_TABLE, "rows": rows}


def _csv(batch: pa.RecordBatch, county: str, roll_year: int) -> bytes:
    """A batch as COPY's CSV: the county and year first, the geometry as hex EWKB (SRID 4326) last; NULL unquoted."""
    geometry = shapely.from_wkb(batch.column("geometry").to_numpy(zero_copy_only=False))
    ewkb = shapely.to_wkb(shapely.set_srid(geometry, 4326), hex=True, include_srid=True)
    table = pa.table([
        pa.array([county] * batch.num_rows), pa.array([roll_year] * batch.num_rows, pa.int64()),
        *batch.columns[:-1], pa.array(ewkb, pa.string()),
    ], names=["county", "roll_year", *batch.schema.names[:-1], "geometry"])  # fmt: skip
    out = io.BytesIO()
    pyarrow.csv.write_csv(table, out, pyarrow.csv.WriteOptions(include_header=False, quoting_style="needed"))
    return out.getvalue()
