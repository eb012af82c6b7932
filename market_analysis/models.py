"""Market-analysis jobs (the kind is declared in market_analysis/jobs.py) and the county's market time index."""

from django.db import models

from counties.models import County
from counties.querysets import CountyScopedQuerySet
from market_analysis.choices import TimeIndexMethod
from terrafusion.jobs.models import BaseJob, job_indexes


class MarketAnalysisJob(BaseJob):
    class Meta(BaseJob.Meta):
        indexes = job_indexes("market_job")


class TimeIndex(models.Model):
    """A county's monthly market index, made by a `time_adjustment` job from its valid sales.

    Valuation and later ratio studies read the newest one (`time_index_current`) to bring sale prices to the
    valuation date: a price of month m times that month's `factor`; `services.time_factors` also covers dates
    before the first month (its level) and after the last (the recent trend), and other target dates.
    """

    COUNTY_FIELD = "county_id"

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="+")
    job = models.OneToOneField(
        MarketAnalysisJob, on_delete=models.CASCADE, related_name="time_index", help_text="The job that made it."
    )
    method = models.CharField(max_length=20, choices=TimeIndexMethod.choices)
    valuation_date = models.DateField(help_text="The date the factors adjust prices to.")
    first_month = models.DateField()
    last_month = models.DateField(help_text="The last month with sales; later months follow recent_trend.")
    sales_used = models.PositiveIntegerField()
    monthly_trend = models.FloatField(help_text="Average change of log price per month over the index.")
    recent_trend = models.FloatField(
        help_text="Change of log price per month in the last months, which carries the index to the valuation date."
    )
    r_squared = models.FloatField(null=True, blank=True, help_text="Of the hedonic regression.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "time indexes"
        indexes = [models.Index(fields=["county", "created_at"], name="timeindex_county_created")]

    def __str__(self) -> str:
        span = f"{self.first_month:%Y-%m} to {self.last_month:%Y-%m}"
        return f"{self.get_method_display()} index to {self.valuation_date} ({span})"


class TimeIndexMonth(models.Model):
    """One month of a time index: the index (1 at the valuation date) and the factor to the valuation date."""

    COUNTY_FIELD = "county_id"

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="+")
    time_index = models.ForeignKey(TimeIndex, on_delete=models.CASCADE, related_name="months")
    month = models.DateField(help_text="The first day of the month.")
    index = models.FloatField(help_text="Price level of the month relative to the valuation date (1.0 there).")
    factor = models.FloatField(help_text="Multiplies a price of this month to bring it to the valuation date.")
    sales = models.PositiveIntegerField(
        help_text="Valid sales of the month in the regression (0: no sales, its level interpolated)."
    )

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["time_index", "month"]
        constraints = [models.UniqueConstraint(fields=["time_index", "month"], name="one_index_value_per_month")]
        indexes = [models.Index(fields=["county", "time_index"], name="timeindexmonth_county_index")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.index:.4f}"
