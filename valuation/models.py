"""Valuation jobs (the kind is declared in valuation/jobs.py) and the values they estimate, per parcel."""

import builtins

from django.db import models

from counties.models import County
from counties.querysets import CountyScopedQuerySet
from properties.models import Property
from terrafusion.jobs.models import BaseJob, job_indexes
from valuation.choices import ValuationMethod

LARGE_CHANGE = 0.30  # a result more than this far (up or down) from the current value is flagged for review


class ValuationJob(BaseJob):
    class Meta(BaseJob.Meta):
        indexes = job_indexes("valuation_job")


class ValuationResult(models.Model):
    """A parcel's estimated value from a valuation job: reviewed before it becomes the county's value."""

    COUNTY_FIELD = "county_id"

    # No database foreign-key constraints: a mass appraisal writes a million rows by COPY, and PostgreSQL checks
    # each row's three keys by trigger at commit, which cost more than the COPY itself (measured: 2.3 s of a 3.6 s
    # write of 125,000 rows). The rows are written only by valuation.services, for parcels it has just read in the
    # job's county; deletes cascade through Django's collector (on_delete), as everywhere in the project.
    # Indexes cost a mass appraisal's COPY most of its time, so the table has those its reads need and no more:
    # (county, job, property) unique (county first, as everywhere; a job's results in parcel order), job (a job's
    # results, its cascade), property (a parcel's results). Measured on a million parcels: an index on (county, job,
    # change) made the comparable-sales appraisal 30% slower (its random keys scatter every part's inserts over the
    # index), so the review filters by change scan a job's rows instead; one on job alone costs little (its key is
    # the same for every row a part writes).
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False)
    job = models.ForeignKey(ValuationJob, on_delete=models.CASCADE, related_name="results", db_constraint=False)
    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    roll_year = models.PositiveSmallIntegerField()
    method = models.CharField(max_length=20, choices=ValuationMethod.choices)
    estimate = models.BigIntegerField(help_text="The estimated market value at the valuation date.")
    land_value = models.BigIntegerField()
    improvement_value = models.BigIntegerField()
    low = models.BigIntegerField(help_text="The low end of the estimate's 80% range.")
    high = models.BigIntegerField(help_text="The high end of the estimate's 80% range.")
    current_value = models.BigIntegerField(null=True, blank=True, help_text="The parcel's market value when valued.")
    change = models.FloatField(null=True, blank=True, help_text="estimate / current value - 1.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["job", "property"]
        constraints = [
            models.UniqueConstraint(fields=["county", "job", "property"], name="one_result_per_job_property")
        ]

    def __str__(self) -> str:
        return f"{self.property_id}: {self.estimate:,} ({self.method}, {self.roll_year})"

    @builtins.property  # `property` is the parcel field here
    def flags(self) -> list[str]:
        """The review flags that hold for this result (`choices.ResultFlag`): those `flag_condition` finds in SQL."""
        flags = ["large_change"] if self.change is not None and abs(self.change) > LARGE_CHANGE else []
        if not self.current_value:  # none, or 0
            return [*flags, "no_current_value"]
        return [*flags, "within_range" if self.low <= self.current_value <= self.high else "outside_range"]
