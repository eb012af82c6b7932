"""The valuation job kind: a mass appraisal of a county (or some of its neighborhoods)."""

import datetime

from counties.roles import RUN_VALUATION
from terrafusion.jobs.registry import JobKind
from terrafusion.jobs.runner import JobRunner
from valuation.api.serializers import ValuationParametersSerializer
from valuation.choices import ValuationMethod
from valuation.models import ValuationJob
from valuation.services import mass_appraisal


class ValuationJobRunner(JobRunner):
    def run(self) -> dict:
        county = self.job.county
        parameters = {"roll_year": county.working_roll_year, **self.job.parameters}
        for name in ("sale_date_from", "sale_date_to"):
            if parameters.get(name):
                parameters[name] = datetime.date.fromisoformat(parameters[name])
        self.progress(0.1, "training and valuing")
        summary, model = mass_appraisal(county=county, job=self.job, parameters=parameters)
        self.save_file("model.json", model, title="The fitted model (JSON)")
        return summary


VALUATION_JOBS = JobKind(
    slug="valuation",
    model=ValuationJob,
    runner=ValuationJobRunner,
    parameters=ValuationParametersSerializer,
    run_codename=RUN_VALUATION,
    example_parameters={"method": ValuationMethod.HEDONIC, "holdout_share": 0.2},
)
