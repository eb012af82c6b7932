"""Writing a layer of parcels, batch by batch, in each export format (pure: record batches in, a file out).

GDAL's formats (pyogrio's `write_arrow`: one dataset open, each batch appended as it arrives) and GeoParquet
(pyarrow's ParquetWriter, a row group per batch, the GeoParquet 1.1 `geo` metadata added at the end). Geometry
comes as WKB in WGS84 and is reprojected a batch at a time (shapely and pyproj, vectorised).
"""

import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely
from pyogrio.raw import write_arrow
from pyproj import CRS, Transformer

from gis_export.choices import ExportFormat

WGS84 = CRS.from_epsg(4326)
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
SHAPEFILE_NAME_LENGTH = 10  # dBASE's limit on a field name


@dataclass(frozen=True)
class FormatSpec:
    extension: str  # of the file the user downloads
    content_type: str
    driver: str | None = None  # GDAL's; None: written with pyarrow (GeoParquet)
    layer_options: dict = field(default_factory=dict)


FORMATS = {
    ExportFormat.GEOJSON: FormatSpec("geojson", "application/geo+json", "GeoJSON", {"RFC7946": "NO"}),
    ExportFormat.GPKG: FormatSpec("gpkg", "application/geopackage+sqlite3", "GPKG"),
    ExportFormat.SHAPEFILE: FormatSpec("zip", "application/zip", "ESRI Shapefile", {"ENCODING": "UTF-8"}),
    ExportFormat.FLATGEOBUF: FormatSpec("fgb", "application/vnd.flatgeobuf", "FlatGeobuf"),
    ExportFormat.KML: FormatSpec("kml", "application/vnd.google-earth.kml+xml", "KML"),
    ExportFormat.GEOPARQUET: FormatSpec("parquet", "application/vnd.apache.parquet"),
    ExportFormat.CSV: FormatSpec("csv", "text/csv", "CSV", {"GEOMETRY": "AS_WKT"}),
}


@dataclass
class Written:
    """What was written: the files (the download first), the features, their extent in the output CRS, the columns
    as named in the file (Shapefile's cut names: `renamed`)."""

    files: list[Path]
    features: int = 0
    bounds: list[float] | None = None
    geometry_types: set[str] = field(default_factory=set)
    renamed: dict[str, str] = field(default_factory=dict)


def shapefile_names(names: Iterable[str]) -> dict[str, str]:
    """Each name cut to dBASE's 10 characters; a cut name already taken (case-insensitively) ends in _2, _3, ...
    instead, so no two fields collide. Name -> field name, in order."""
    taken: set[str] = set()
    out = {}
    for name in names:
        short = name[:SHAPEFILE_NAME_LENGTH]
        number = 1
        while short.lower() in taken:
            number += 1
            suffix = f"_{number}"
            short = name[: SHAPEFILE_NAME_LENGTH - len(suffix)] + suffix
        taken.add(short.lower())
        out[name] = short
    return out


def reprojector(target: CRS) -> Callable[[np.ndarray], np.ndarray] | None:
    """Geometries in WGS84 -> the same in `target` (None when the target is WGS84: nothing to do)."""
    if target.equals(WGS84):
        return None
    transformer = Transformer.from_crs(WGS84, target, always_xy=True)

    def reproject(geometries: np.ndarray) -> np.ndarray:
        return shapely.transform(geometries, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))

    return reproject


def layer_write(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, *, export_format: str, crs: CRS, directory: Path,
    name: str = "parcels", file_metadata: dict | None = None,
) -> Written:  # fmt: skip
    """Write the batches (a `geometry` column of WGS84 WKB, last) as `<directory>/<name>.<extension>` in the format
    and CRS. `file_metadata`: GeoParquet only, kept as the file's `terrafusion` key (JSON, with the row count)."""
    spec = FORMATS[export_format]
    written = Written(files=[directory / f"{name}.{spec.extension}"])
    reproject = reprojector(crs)
    if export_format == ExportFormat.SHAPEFILE:
        written.renamed = {k: v for k, v in shapefile_names(schema.names[:-1]).items() if k != v}
        schema = pa.schema([f.with_name(written.renamed.get(f.name, f.name)) for f in schema])
    prepared = (_prepared(batch, schema, reproject, written) for batch in batches)
    if spec.driver is None:
        _parquet_write(prepared, schema, written.files[0], crs, written, file_metadata)
        return written
    target = directory / f"{name}.shp" if export_format == ExportFormat.SHAPEFILE else written.files[0]
    write_arrow(
        pa.RecordBatchReader.from_batches(schema, prepared), str(target), layer=name, driver=spec.driver,
        geometry_name="geometry", geometry_type="Polygon" if export_format == ExportFormat.SHAPEFILE else "Unknown",
        crs=crs.to_wkt(), layer_options=spec.layer_options or None,
    )  # fmt: skip
    if export_format == ExportFormat.SHAPEFILE:
        _zip([directory / f"{name}{part}" for part in SHAPEFILE_PARTS], written.files[0])
    elif export_format == ExportFormat.CSV:  # a GeoCSV's CRS: the .prj beside it, which GDAL reads with it
        prj = directory / f"{name}.prj"
        prj.write_text(crs.to_wkt("WKT1_GDAL"))  # with its EPSG authority, which GDAL then recognises
        written.files.append(prj)
    return written


def _prepared(batch: pa.RecordBatch, schema: pa.Schema, reproject, written: Written) -> pa.RecordBatch:
    """The batch with its geometry in the output CRS and its columns named as `schema` says; counts what it holds."""
    wkb = batch.column(batch.num_columns - 1)
    values = np.asarray(wkb.to_numpy(zero_copy_only=False), dtype=object)
    present = pc.fill_null(pc.greater(pc.binary_length(wkb), 0), False).to_numpy(zero_copy_only=False)  # no b""
    geometries = shapely.from_wkb(values[present])
    rebuilt = not present.all()  # an empty geometry (b"") is written as none
    values[~present] = None
    if reproject is not None and len(geometries):
        geometries = reproject(geometries)
        values[present] = shapely.to_wkb(geometries)
        rebuilt = True
    if rebuilt:
        wkb = pa.array(values, pa.binary())
    if len(geometries):
        xmin, ymin, xmax, ymax = shapely.total_bounds(geometries)
        old = written.bounds or [xmin, ymin, xmax, ymax]
        written.bounds = [min(old[0], xmin), min(old[1], ymin), max(old[2], xmax), max(old[3], ymax)]
        written.geometry_types.update(np.unique(shapely.get_type_id(geometries)).tolist())
    written.features += batch.num_rows
    return pa.record_batch([*batch.columns[:-1], wkb], schema=schema)


def _parquet_write(
    batches: Iterator[pa.RecordBatch], schema: pa.Schema, path: Path, crs: CRS, written: Written, extra: dict | None
) -> None:
    """GeoParquet 1.1: a row group per batch; the `geo` metadata (CRS as PROJJSON, extent, types) at the end."""
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_batch(batch)
        types = sorted(_TYPE_NAMES[t] for t in written.geometry_types)
        geo = {
            "version": "1.1.0",
            "primary_column": "geometry",
            "columns": {
                "geometry": {
                    "encoding": "WKB", "geometry_types": types, "crs": crs.to_json_dict(),
                    **({"bbox": written.bounds} if written.bounds else {}),
                },
            },
        }  # fmt: skip
        writer.add_key_value_metadata({"geo": json.dumps(geo)})
        if extra is not None:
            writer.add_key_value_metadata({"terrafusion": json.dumps({**extra, "rows": written.features})})


_TYPE_NAMES = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon",
               7: "GeometryCollection"}  # fmt: skip


def _zip(parts: list[Path], target: Path) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for part in parts:
            if part.exists():
                archive.write(part, part.name)
                part.unlink()
