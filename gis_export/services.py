"""GIS export: a layer of the county's parcels in a file, written a batch at a time (gis_export/writers.py)."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
from django.conf import settings
from pyproj import CRS

from counties.models import County
from gis_export.selectors import export_columns, parcels_for_export
from gis_export.writers import FORMATS, Written, layer_write
from terrafusion.arrow import query_batches


def output_crs(county: County, crs: str) -> CRS:
    """The export's CRS: `local` is the county's own projected CRS (its settings' local_crs_epsg)."""
    return CRS.from_epsg(county.settings.get("local_crs_epsg", 2927)) if crs == "local" else CRS.from_user_input(crs)


def gis_export_write(
    *, county: County, parameters: dict, directory: Path, progress: Callable[[int, int], None] | None = None,
    file_metadata: dict | None = None,
) -> tuple[dict, Written]:  # fmt: skip
    """Write the parcels the parameters select (GisExportParametersSerializer's) as a file in `directory`; the
    job's result summary and what was written. One query reads the parcels (a count before it sizes the progress)."""
    export_format, attributes = parameters["format"], parameters["attributes"]
    roll_year = parameters.get("roll_year") if "values" in attributes else None
    crs = output_crs(county, parameters["crs"])
    columns = export_columns(attributes, roll_year)
    schema = pa.schema([(column.name, column.type) for column in columns])
    source = parameters.get("value_source", "")
    parcels = parcels_for_export(county=county, filters=parameters["filters"], roll_year=roll_year, value_source=source)
    batches = query_batches(parcels, columns, settings.GIS_EXPORT_BATCH_PARCELS)
    written = layer_write(
        _counted(batches, parcels.count(), progress),
        schema,
        export_format=export_format,
        crs=crs,
        directory=directory,
        file_metadata=file_metadata,
    )
    authority = crs.to_authority()
    summary = {
        "format": export_format,
        "parcels": written.features,
        "crs": f"{authority[0]}:{authority[1]}" if authority else crs.to_string(),
        "crs_name": crs.name,
        "bounds": written.bounds,
        "columns": list(schema.names),
        "shapefile_fields": written.renamed or None,
        "roll_year": roll_year,
        "value_source": parameters.get("value_source") if roll_year else None,
        "filters": parameters["filters"],
        "file": written.files[0].name,
        "size": written.files[0].stat().st_size,
        "content_type": FORMATS[export_format].content_type,
    }
    return summary, written


def _counted(batches: Iterator[pa.RecordBatch], total: int, progress) -> Iterator[pa.RecordBatch]:
    done = 0
    for batch in batches:
        yield batch
        done += batch.num_rows
        if progress is not None:
            progress(done, total)
