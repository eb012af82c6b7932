"""Report job runners: thin, each calls one service."""

from reporting.choices import ReportType
from reporting.services import county_summary_compute
from terrafusion.jobs.runner import JobRunner


class ReportJobRunner(JobRunner):
    def run(self) -> dict:
        report_type = self.job.parameters.get("report_type", ReportType.COUNTY_SUMMARY)
        if report_type != ReportType.COUNTY_SUMMARY:
            raise ValueError(f"Unknown report type {report_type!r}.")
        self.progress(0.1, "Summing parcels and values")
        summary, content = county_summary_compute(county=self.job.county)
        self.save_file(f"{self.job.county.slug}-county-summary.csv", content)
        self.progress(1.0, f"{summary['totals']['parcels']} parcels in {summary['groups']} groups")
        return summary
