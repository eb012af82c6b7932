"""The valuation job kind: a mass appraisal of a county (or some of its neighborhoods), or one property's value.

A mass appraisal trains once, in the job's first step (`chunks()`: the model is kept as the job's files), then
values the parcels in id ranges of VALUATION_CHUNK_PARCELS, which any number of workers run in parallel; the
part that finishes last writes the summary. A county smaller than one part (or one property) is done in one
piece by `run()`.
"""

import datetime

from django.conf import settings

from counties.roles import RUN_VALUATION
from terrafusion.jobs.registry import JobKind
from terrafusion.jobs.runner import JobRunner
from valuation.api.serializers import ValuationParametersSerializer
from valuation.choices import ValuationMethod
from valuation.models import ValuationJob
from valuation.selectors import parcel_id_ranges, parcels_to_value
from valuation.services import (
    KeptFile,
    appraisal_summary,
    fitted_load,
    mass_appraisal,
    parcels_value,
    training_files,
    training_summary,
    valuation_train,
)


class ValuationJobRunner(JobRunner):
    def parameters(self) -> dict:
        parameters = {"roll_year": self.job.county.working_roll_year, **self.job.parameters}
        for name in ("sale_date_from", "sale_date_to"):
            if parameters.get(name):
                parameters[name] = datetime.date.fromisoformat(parameters[name])
        return parameters

    def chunks(self) -> list[dict] | None:
        parameters = self.parameters()
        if parameters.get("property"):
            return None
        ranges = parcel_id_ranges(
            county=self.job.county, neighborhoods=parameters.get("neighborhoods") or None,
            size=settings.VALUATION_CHUNK_PARCELS,
        )  # fmt: skip
        if len(ranges) <= 1:
            return None
        self.progress(0.05, f"training on the sales ({len(ranges)} parts of parcels to value)")
        self._save(training_files(valuation_train(county=self.job.county, parameters=parameters)))
        # The roll year as resolved now: a part that runs later values for the same year, whatever the county's.
        return [{"low": low, "high": high, "roll_year": parameters["roll_year"]} for low, high in ranges]

    def _save(self, files: list[KeptFile]) -> None:
        for kept in files:
            self.save_file(kept.name, kept.content, title=kept.title, content_type=kept.content_type)

    def run_chunk(self, chunk: dict) -> dict:
        fitted = fitted_load(self.job)
        parcels = parcels_to_value(
            county=self.job.county, neighborhoods=self.job.parameters.get("neighborhoods") or None,
            id_range=(chunk["low"], chunk["high"]),
        )  # fmt: skip
        return parcels_value(
            county=self.job.county, job=self.job, fitted=fitted, roll_year=chunk["roll_year"], parcels=parcels,
            id_range=(chunk["low"], chunk["high"]),
        )  # fmt: skip

    def combine(self, results: list[dict]) -> dict:
        return appraisal_summary(training_summary(self.job), results)

    def run(self) -> dict:
        self.progress(0.1, "training and valuing")
        summary, files = mass_appraisal(county=self.job.county, job=self.job, parameters=self.parameters())
        self._save(files)
        return summary


VALUATION_JOBS = JobKind(
    slug="valuation",
    model=ValuationJob,
    runner=ValuationJobRunner,
    parameters=ValuationParametersSerializer,
    run_codename=RUN_VALUATION,
    example_parameters={"method": ValuationMethod.HEDONIC, "holdout_share": 0.2},
    cancellable_while_running=True,  # its parts store results only while the job is going (parcels_value)
)
