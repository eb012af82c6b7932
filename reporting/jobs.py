"""Report job runners: thin, each calls the reports (reporting/reports.py) and the document writers.

The county summary runs in parts (groups of neighborhoods) that workers sum in parallel; the last part to finish
builds the report from all of them. The other reports are built in one piece; the assessment roll streams.
"""

import functools
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

from counties.roles import RUN_REPORT
from reporting.api.serializers import ReportParametersSerializer
from reporting.choices import CONTENT_TYPES, ReportFormat, ReportType
from reporting.documents import WRITERS, Document
from reporting.models import ReportJob
from reporting.reports import REPORTS, assessment_roll, county_summary, roll_part_csv, roll_parts
from reporting.services import county_summary_groups, county_summary_parts
from terrafusion.jobs.registry import JobKind
from terrafusion.jobs.runner import JobRunner

SUMMARY_PARTS = 8


class ReportJobRunner(JobRunner):
    def parameters(self) -> dict:
        county = self.job.county
        parameters = {"report_type": ReportType.COUNTY_SUMMARY, "format": "csv", "value_source": "pacs",
                      **self.job.parameters}  # fmt: skip
        parameters.setdefault("roll_year", county.working_roll_year)
        if parameters["report_type"] not in REPORTS:
            raise ValueError(f"Unknown report type {parameters['report_type']!r}.")
        return parameters

    def chunks(self) -> list[dict] | None:
        parameters = self.parameters()
        if parameters["report_type"] == ReportType.ASSESSMENT_ROLL and parameters["format"] == ReportFormat.CSV:
            # A CSV roll is written in parts of parcel numbers that workers write in parallel, then joined.
            parts = roll_parts(self.job.county, parameters, settings.REPORT_ROLL_PART_PARCELS)
            return [{"roll": part, "index": index} for index, part in enumerate(parts)] if len(parts) > 1 else None
        if parameters["report_type"] != ReportType.COUNTY_SUMMARY:
            return None
        parts = county_summary_parts(county=self.job.county, parts=SUMMARY_PARTS)
        return [{"neighborhood_ids": ids} for ids in parts] if len(parts) > 1 else None

    def run_chunk(self, chunk: dict) -> dict:
        if "roll" in chunk:
            name = f"roll-part-{chunk['index']:04d}.csv"
            with tempfile.TemporaryDirectory(prefix="report-part-") as directory:
                path = Path(directory) / name
                rows = roll_part_csv(self.job.county, self.parameters(), chunk["roll"], path)
                self.save_file(name, path, title="A part of the roll (joined when every part is written)")
            return {"file": name, "rows": rows}
        return {"groups": county_summary_groups(county=self.job.county, neighborhood_ids=chunk["neighborhood_ids"])}

    def combine(self, results: list[dict]) -> dict:
        parameters = self.parameters()
        if parameters["report_type"] == ReportType.ASSESSMENT_ROLL:
            self.job.refresh_from_db(fields=["files"])
            parts = [self.job.file(result["file"]) for result in results]
            openers = [functools.partial(default_storage.open, part["path"], "rb") for part in parts]
            summary = self._write(*assessment_roll(self.job.county, parameters, written_parts=openers))
            self.files_drop([part["name"] for part in parts])
            return {**summary, "parts": len(parts)}
        groups = [group for result in results for group in result["groups"]]
        return self._write(*county_summary(self.job.county, parameters, groups))

    def run(self) -> dict:
        parameters = self.parameters()
        self.progress(0.05, "reading and computing")
        return self._write(*REPORTS[parameters["report_type"]](self.job.county, parameters))

    def _write(self, document: Document, summary: dict) -> dict:
        parameters = self.parameters()
        report, extension = parameters["report_type"], parameters["format"]
        year = "" if report == ReportType.COUNTY_SUMMARY else f"-{parameters['roll_year']}"
        name = f"{self.job.county.slug}-{report.replace('_', '-')}{year}.{extension}"
        self.progress(0.2, f"writing the {extension.upper()}")
        with tempfile.TemporaryDirectory(prefix="report-") as directory:
            path = Path(directory) / name
            WRITERS[extension](document, path)
            self.progress(0.95, "storing the file")
            self.save_file(name, path, title=document.title, content_type=CONTENT_TYPES[extension])
            size = path.stat().st_size
        return {"report_type": report, "format": extension, "roll_year": parameters["roll_year"],
                "county": self.job.county.slug, "file": name, "size": size, **summary}  # fmt: skip


REPORT_JOBS = JobKind(
    slug="reporting",
    model=ReportJob,
    runner=ReportJobRunner,
    parameters=ReportParametersSerializer,
    run_codename=RUN_REPORT,
    example_parameters={"report_type": ReportType.COUNTY_SUMMARY},
    metric_labels=("report_type",),
)
