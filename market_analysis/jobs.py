"""The market-analysis job kind: ratio studies, price trends, time adjustment and neighborhood summaries.

One piece each (no parts): a study of a county's sales is seconds of numpy, not hours of work to share.
"""

from counties.roles import RUN_MARKET_ANALYSIS
from market_analysis.api.serializers import MarketAnalysisParametersSerializer, MarketAnalysisResultField
from market_analysis.choices import Analysis
from market_analysis.models import MarketAnalysisJob
from market_analysis.services import ANALYSES
from terrafusion.jobs.registry import JobKind
from terrafusion.jobs.runner import JobRunner

# A valid result summary (for the API's contract tests and docs): a neighborhood summary of an empty county.
EXAMPLE_RESULT = {
    "analysis": Analysis.NEIGHBORHOOD_SUMMARY.value,
    "county": "example",
    "roll_year": 2026,
    "value_source": "pacs",
    "sale_dates": ["2025-01-01", "2025-12-31"],
    "neighborhoods": [],
    "totals": {
        "parcels": 0,
        "active_parcels": 0,
        "valued_parcels": 0,
        "market_value": 0,
        "assessed_value": 0,
        "sales": 0,
    },
}


class MarketAnalysisJobRunner(JobRunner):
    def run(self) -> dict:
        county = self.job.county
        parameters = {"roll_year": county.working_roll_year, **self.job.parameters}  # the default roll year
        analysis = parameters.get("analysis", Analysis.RATIO_STUDY)
        self.progress(0.1, f"{Analysis(analysis).label}: reading and computing")
        summary, files = ANALYSES[analysis](county=county, parameters=parameters, job=self.job)
        self.progress(0.9, "saving the files")
        for result_file in files:
            self.save_file(result_file.name, result_file.content, title=result_file.title)
        return summary


MARKET_ANALYSIS_JOBS = JobKind(
    slug="market-analysis",
    model=MarketAnalysisJob,
    runner=MarketAnalysisJobRunner,
    parameters=MarketAnalysisParametersSerializer,
    run_codename=RUN_MARKET_ANALYSIS,
    # Runs on any county, even one without sales (a ratio study needs sales with values of the roll year).
    example_parameters={"analysis": Analysis.NEIGHBORHOOD_SUMMARY, "value_source": "pacs"},
    example_result=EXAMPLE_RESULT,
    result=MarketAnalysisResultField,
)
