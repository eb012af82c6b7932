"""The GIS export job kind: a layer of the county's parcels as a file, written a batch at a time in one piece (a
file has one writer); downloadable for GIS_EXPORT_FILE_TTL_HOURS."""

import tempfile
from pathlib import Path

from counties.roles import RUN_GIS_EXPORT
from gis_export.api.serializers import GisExportParametersSerializer
from gis_export.choices import ExportFormat
from gis_export.models import GisExportJob
from gis_export.publish import gis_publish
from gis_export.services import gis_export_write
from gis_export.writers import FORMATS
from terrafusion.jobs.registry import JobKind
from terrafusion.jobs.runner import JobRunner


class GisExportJobRunner(JobRunner):
    def run(self) -> dict:
        parameters = self.job.parameters  # as the serializer cleaned them at submission, defaults filled

        def progress(done: int, total: int) -> None:
            self.progress(0.9 * done / max(total, 1), f"{done:,} of {total:,} parcels written")

        if parameters["operation"] == "publish":
            county = self.job.county
            return gis_publish(
                county=county, roll_year=parameters.get("roll_year") or county.working_roll_year,
                value_source=parameters["value_source"], progress=progress,
            )  # fmt: skip

        with tempfile.TemporaryDirectory(prefix="gis-export-") as directory:
            summary, written = gis_export_write(
                county=self.job.county, parameters=parameters, directory=Path(directory), progress=progress
            )
            self.progress(0.95, "storing the file")
            spec = FORMATS[parameters["format"]]
            main, *others = written.files
            title = ExportFormat(parameters["format"]).label
            self.save_file(main.name, main, title=title, content_type=spec.content_type)
            for other in others:
                self.save_file(other.name, other)
        return summary


GIS_EXPORT_JOBS = JobKind(
    slug="gis-export",
    model=GisExportJob,
    runner=GisExportJobRunner,
    parameters=GisExportParametersSerializer,
    run_codename=RUN_GIS_EXPORT,
    example_parameters={"format": ExportFormat.GEOJSON, "attributes": ["parcel_number", "values"]},
    metric_labels=("format",),
    file_ttl_setting="GIS_EXPORT_FILE_TTL_HOURS",
)
