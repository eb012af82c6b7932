"""Report job runners: thin, each calls services.

The county summary runs in parts (groups of neighborhoods) that workers sum in parallel; the last
part to finish builds the report from all of them.
"""

from counties.roles import RUN_REPORT
from reporting.api.serializers import ReportParametersSerializer
from reporting.choices import ReportType
from reporting.models import ReportJob
from reporting.services import county_summary_build, county_summary_groups, county_summary_parts
from terrafusion.jobs.registry import JobKind
from terrafusion.jobs.runner import JobRunner

SUMMARY_PARTS = 8


class ReportJobRunner(JobRunner):
    def _check_report_type(self) -> None:
        report_type = self.job.parameters.get("report_type", ReportType.COUNTY_SUMMARY)
        if report_type != ReportType.COUNTY_SUMMARY:
            raise ValueError(f"Unknown report type {report_type!r}.")

    def chunks(self) -> list[dict] | None:
        self._check_report_type()
        parts = county_summary_parts(county=self.job.county, parts=SUMMARY_PARTS)
        return [{"neighborhood_ids": ids} for ids in parts] if len(parts) > 1 else None

    def run_chunk(self, chunk: dict) -> dict:
        return {"groups": county_summary_groups(county=self.job.county, neighborhood_ids=chunk["neighborhood_ids"])}

    def combine(self, results: list[dict]) -> dict:
        return self._report([group for result in results for group in result["groups"]])

    def run(self) -> dict:
        return self._report(county_summary_groups(county=self.job.county))

    def _report(self, groups: list[dict]) -> dict:
        summary, content = county_summary_build(county=self.job.county, groups=groups)
        self.save_file(f"{self.job.county.slug}-county-summary.csv", content)
        return summary


REPORT_JOBS = JobKind(
    slug="reporting",
    model=ReportJob,
    runner=ReportJobRunner,
    parameters=ReportParametersSerializer,
    run_codename=RUN_REPORT,
    example_parameters={"report_type": ReportType.COUNTY_SUMMARY},
)
