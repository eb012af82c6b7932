"""The ingestion job kind: PACS bulk loads and syncs, in parts that workers run in parallel; the validation of an
upload."""

from django.db import transaction

from counties.roles import RUN_INGESTION
from ingestion.api.serializers import IngestionParametersSerializer
from ingestion.choices import IngestionOperation
from ingestion.models import IngestionJob
from ingestion.services import (
    PacsSource,
    pacs_load_combine,
    pacs_load_plan,
    pacs_load_range,
    pacs_source_open,
    upload_check,
)
from terrafusion.jobs.registry import JobKind
from terrafusion.jobs.runner import JobRunner


class IngestionJobRunner(JobRunner):
    _source: PacsSource | None = None

    @property
    def dry_run(self) -> bool:
        return bool(self.job.parameters.get("dry_run"))

    def source(self) -> PacsSource:
        if self._source is None:
            parameters = self.job.parameters
            # A bulk load reads the year asked for (default: the working year); a sync follows PACS's newest year,
            # so the yearly copy of the roll into the next year is loaded by the next sync.
            year = parameters.get("roll_year")
            if year is None and parameters["operation"] == IngestionOperation.PACS_BULK_LOAD:
                year = self.job.county.working_roll_year
            self._source = pacs_source_open(county=self.job.county, roll_year=year)
        return self._source

    def chunks(self) -> list[dict] | None:
        if self.job.parameters.get("operation") == IngestionOperation.UPLOAD_VALIDATE:
            return None
        if self.dry_run:
            return None  # one transaction, rolled back: run() below
        ranges = pacs_load_plan(self.source())
        if len(ranges) == 1:
            return None
        return [{"low": low, "high": high, "roll_year": self.source().roll_year} for low, high in ranges]

    def run_chunk(self, chunk: dict) -> dict:
        # Every part loads the year the plan fixed, even if PACS moved to a new year since (the next sync loads
        # that): opened with it, a part does not look for PACS's newest year again (a scan of prop_supp_assoc).
        if self._source is None or self._source.roll_year != chunk["roll_year"]:
            self._source = pacs_source_open(county=self.job.county, roll_year=chunk["roll_year"])
        return pacs_load_range(
            county=self.job.county, source=self._source, key_range=(chunk["low"], chunk["high"]), job=self.job
        )

    def combine(self, results: list[dict]) -> dict:
        return pacs_load_combine(results, county=self.job.county, roll_year=self.source().roll_year, dry_run=False)

    def run(self) -> dict:
        if self.job.parameters["operation"] == IngestionOperation.UPLOAD_VALIDATE:
            self.progress(0.1, "reading and checking every row")
            return upload_check(county=self.job.county, upload_id=self.job.parameters["upload"])
        source = self.source()
        ranges = pacs_load_plan(source)
        results = []
        with transaction.atomic():
            for index, key_range in enumerate(ranges):
                results.append(
                    pacs_load_range(county=self.job.county, source=source, key_range=key_range, job=self.job)
                )
                self.progress((index + 1) / len(ranges), f"{index + 1} of {len(ranges)} parts")
            if self.dry_run:
                transaction.set_rollback(True)
        return pacs_load_combine(results, county=self.job.county, roll_year=source.roll_year, dry_run=self.dry_run)


INGESTION_JOBS = JobKind(
    slug="ingestion",
    model=IngestionJob,
    runner=IngestionJobRunner,
    parameters=IngestionParametersSerializer,
    run_codename=RUN_INGESTION,
    example_parameters={"operation": IngestionOperation.PACS_BULK_LOAD, "roll_year": 2026},
)
