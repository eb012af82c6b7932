"""The parameters of a market-analysis job (validated at submission) and the shapes of its results (OpenAPI)."""

import itertools

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from market_analysis.choices import Analysis, Period, Stratification, Trimming
from properties.choices import ValueSource

RATIO_STUDY = Analysis.RATIO_STUDY.value
PRICE_TRENDS = Analysis.PRICE_TRENDS.value
TIME_ADJUSTMENT = Analysis.TIME_ADJUSTMENT.value
NEIGHBORHOOD_SUMMARY = Analysis.NEIGHBORHOOD_SUMMARY.value
ALL = frozenset(Analysis.values)

# Which analyses each parameter is for: giving one to another analysis is a mistake worth a 400.
APPLIES_TO = {
    "analysis": ALL,
    "roll_year": {RATIO_STUDY, NEIGHBORHOOD_SUMMARY, TIME_ADJUSTMENT},
    "value_source": {RATIO_STUDY, NEIGHBORHOOD_SUMMARY},
    "sale_date_from": ALL,
    "sale_date_to": ALL,
    "stratify_by": {RATIO_STUDY, PRICE_TRENDS},
    "value_bands": {RATIO_STUDY},
    "property_classes": {RATIO_STUDY, PRICE_TRENDS},
    "time_adjust": {RATIO_STUDY},
    "washington_rules": {RATIO_STUDY},
    "trimming": {RATIO_STUDY},
    "iqr_multiplier": {RATIO_STUDY},
    "max_trim_share": {RATIO_STUDY},
    "resamples": {RATIO_STUDY},
    "confidence": {RATIO_STUDY},
    "seed": {RATIO_STUDY},
    "period": {PRICE_TRENDS},
    "trend_months": {TIME_ADJUSTMENT},
    "min_sales": {TIME_ADJUSTMENT},
}


class MarketAnalysisParametersSerializer(serializers.Serializer):
    """What to analyse. Each parameter applies to some analyses (see its help); the others refuse it."""

    analysis = serializers.ChoiceField(choices=Analysis.choices, default=RATIO_STUDY)
    roll_year = serializers.IntegerField(
        required=False, min_value=1900, max_value=2200, help_text="Default: the county's working roll year."
    )
    value_source = serializers.ChoiceField(
        choices=ValueSource.choices, default=ValueSource.PACS, help_text="Whose values of the roll year to study."
    )
    sale_date_from = serializers.DateField(
        required=False,
        help_text="First sale date. Default: ratio study and neighborhood summary, the twelve months before the "
        "roll year's valuation date (with Washington's rules, from May 1 of the year before); time adjustment, "
        "four years and more before; price trends, every sale.",
    )
    sale_date_to = serializers.DateField(required=False, help_text="Last sale date (see sale_date_from).")
    stratify_by = serializers.ChoiceField(choices=Stratification.choices, default=Stratification.NEIGHBORHOOD)
    value_bands = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        min_length=1,
        max_length=50,
        help_text="Upper bounds ($, ascending) of the value bands when stratifying by value band.",
    )
    property_classes = serializers.ListField(
        child=serializers.CharField(max_length=20),
        required=False,
        max_length=100,
        help_text="Only parcels of these use/class codes (e.g. ['11'] for single-family); default all.",
    )
    time_adjust = serializers.BooleanField(
        default=False, help_text="Adjust sale prices to the valuation date by the county's current time index."
    )
    washington_rules = serializers.BooleanField(
        default=False,
        help_text="WAC 458-53-070 from the county's settings: May 1 to April 30 sales, 1% deducted for personal "
        "property, ratios under 0.25 or over 1.75 excluded unless more than 5% of sales are.",
    )
    trimming = serializers.ChoiceField(choices=Trimming.choices, default=Trimming.NONE)
    iqr_multiplier = serializers.FloatField(
        required=False, min_value=0.5, max_value=10.0, help_text="k of the IQR fences; default the county's, else 3.0."
    )
    max_trim_share = serializers.FloatField(
        required=False, min_value=0.0, max_value=0.5, help_text="Most of a stratum's sales trimmed (e.g. 0.1)."
    )
    resamples = serializers.IntegerField(
        default=1000, min_value=0, max_value=10_000, help_text="Bootstrap resamples for intervals; 0 for none."
    )
    confidence = serializers.FloatField(default=0.95, min_value=0.5, max_value=0.999)
    seed = serializers.IntegerField(
        required=False, min_value=0, max_value=2**63 - 1, help_text="Bootstrap seed: the same seed, the same intervals."
    )
    period = serializers.ChoiceField(choices=Period.choices, default=Period.MONTH)
    trend_months = serializers.IntegerField(
        default=12, min_value=3, max_value=36, help_text="Months of recent trend that carry the index forward."
    )
    min_sales = serializers.IntegerField(default=100, min_value=20, help_text="Fewest sales a time index is fit to.")

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        # The parameters given (not defaulted): `initial_data` is not set when nested in the job's start body.
        return self._cross_check(attrs, given=set(data))

    def _cross_check(self, attrs: dict, *, given: set[str]) -> dict:
        analysis = attrs.get("analysis", RATIO_STUDY)
        errors = {  # a parameter of another analysis is a mistake worth saying
            name: f"applies to {', '.join(sorted(APPLIES_TO[name]))}, not to {analysis}."
            for name in given
            if name in APPLIES_TO and analysis not in APPLIES_TO[name]
        }
        start, end = attrs.get("sale_date_from"), attrs.get("sale_date_to")
        if start and end and start > end:
            errors["sale_date_to"] = f"must not be before sale_date_from ({start}), not {end}."
        bands = attrs.get("value_bands")
        if bands and any(low >= high for low, high in itertools.pairwise(bands)):
            errors["value_bands"] = f"must be strictly ascending, not {bands}."
        if bands and attrs.get("stratify_by") != Stratification.VALUE_BAND:
            errors["value_bands"] = "applies when stratify_by is value_band."
        if "max_trim_share" in given and attrs.get("trimming") != Trimming.IQR:
            errors["max_trim_share"] = "applies when trimming is iqr."
        if errors:
            raise serializers.ValidationError(errors)
        # Keep what applies to the analysis, dates as ISO text (the parameters are stored as JSON).
        cleaned = {name: value for name, value in attrs.items() if analysis in APPLIES_TO[name]}
        for name in ("sale_date_from", "sale_date_to"):
            if name in cleaned:
                cleaned[name] = cleaned[name].isoformat()
        return cleaned


# -- result shapes (documentation: the job stores the summary as JSON) ---------------------------------------


class IntervalSerializer(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()


class StudyIntervalsSerializer(serializers.Serializer):
    median = serializers.ListField(child=serializers.FloatField(), allow_null=True, help_text="Bootstrap [low, high].")
    cod = serializers.ListField(child=serializers.FloatField(), allow_null=True, help_text="Bootstrap [low, high].")
    prd = serializers.ListField(child=serializers.FloatField(), allow_null=True, help_text="Bootstrap [low, high].")
    prb = serializers.ListField(child=serializers.FloatField(), allow_null=True, help_text="Regression [low, high].")
    median_rank = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, help_text="Distribution-free 95% interval of the median."
    )


class VEIGroupSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    median = serializers.FloatField()
    ci = IntervalSerializer(help_text="Rank-based 90% interval of the group median.")
    proxy_low = serializers.FloatField()
    proxy_high = serializers.FloatField()


class StandardsVerdictSerializer(serializers.Serializer):
    median = serializers.BooleanField()
    cod = serializers.BooleanField()
    prd = serializers.BooleanField()
    prb = serializers.BooleanField(allow_null=True)
    vei = serializers.BooleanField(allow_null=True)
    sample_too_small = serializers.BooleanField()
    limits = serializers.DictField(help_text="The limits judged against: median, cod_max, prd, prb, vei, min_sales.")


class StudyEntrySerializer(serializers.Serializer):
    """The statistics of the county (`overall`) or of one stratum; null where the sample is too small."""

    stratum = serializers.CharField()
    n = serializers.IntegerField()
    sample_too_small = serializers.BooleanField()
    median = serializers.FloatField(allow_null=True)
    mean = serializers.FloatField(allow_null=True)
    weighted_mean = serializers.FloatField(allow_null=True)
    cod = serializers.FloatField(allow_null=True)
    prd = serializers.FloatField(allow_null=True)
    prb = serializers.FloatField(allow_null=True)
    mki = serializers.FloatField(allow_null=True)
    ki = serializers.FloatField(allow_null=True)
    vei = serializers.FloatField(allow_null=True, help_text="In %; negative: regressive.")
    vei_significance = serializers.FloatField(allow_null=True, help_text="In %; above 0: the intervals do not overlap.")
    ci = StudyIntervalsSerializer(allow_null=True)
    vei_groups = VEIGroupSerializer(many=True)
    standards = StandardsVerdictSerializer(allow_null=True, help_text="Pass (true) or fail of each standard.")


class ChasingTestSerializer(serializers.Serializer):
    statistic = serializers.FloatField()
    expected = serializers.FloatField()
    p_value = serializers.FloatField()
    flagged = serializers.BooleanField()
    detail = serializers.CharField()


class SalesChasingSerializer(serializers.Serializer):
    distribution = ChasingTestSerializer()
    cdf_jump = ChasingTestSerializer()
    flagged = serializers.BooleanField()


class SetAsideSaleSerializer(serializers.Serializer):
    sale = serializers.IntegerField(help_text="TerraFusion's sale id.")
    sale_id = serializers.CharField(help_text="The legacy (PACS) sale id, if any.")
    parcel_number = serializers.CharField()
    status = serializers.CharField(help_text="excluded (a rule of the study) or trimmed (an outlier).")
    ratio = serializers.FloatField(allow_null=True)
    reason = serializers.CharField()


class RatioStudyResultSerializer(serializers.Serializer):
    analysis = serializers.ChoiceField(choices=[RATIO_STUDY])
    county = serializers.CharField()
    roll_year = serializers.IntegerField()
    value_source = serializers.CharField()
    sale_dates = serializers.ListField(child=serializers.DateField())
    stratify_by = serializers.CharField()
    time_adjustment = serializers.DictField(allow_null=True, help_text="The time index used and the date adjusted to.")
    washington_rules = serializers.DictField(
        allow_null=True, help_text="The Washington rules applied: deduction, study period start, max excluded share."
    )
    ratio_limits = serializers.DictField(
        help_text="The county's ratio limits and, below and above them, how many sales, their share and whether "
        "they were excluded."
    )
    seed = serializers.IntegerField(help_text="The bootstrap's seed: give it again for the same intervals.")
    trimming = serializers.DictField(help_text="Method, multiplier, cap and how many sales were trimmed.")
    sales = serializers.DictField(child=serializers.IntegerField(), help_text="selected, used, excluded, trimmed.")
    confidence = serializers.FloatField()
    resamples = serializers.IntegerField()
    overall = StudyEntrySerializer()
    strata = StudyEntrySerializer(many=True)
    sales_chasing = SalesChasingSerializer(allow_null=True)
    set_aside = SetAsideSaleSerializer(many=True, help_text="Every sale excluded or trimmed, with the reason.")


class TrendPeriodSerializer(serializers.Serializer):
    period = serializers.CharField(help_text="YYYY-MM or YYYY-Qn.")
    sales = serializers.IntegerField()
    median_price = serializers.FloatField()
    median_price_per_sqft = serializers.FloatField(allow_null=True)
    yoy_change = serializers.FloatField(allow_null=True, help_text="Median price change from a year before.")


class TrendStratumSerializer(serializers.Serializer):
    stratum = serializers.CharField()
    sales = serializers.IntegerField()
    periods = TrendPeriodSerializer(many=True)


class PriceTrendsResultSerializer(serializers.Serializer):
    analysis = serializers.ChoiceField(choices=[PRICE_TRENDS])
    county = serializers.CharField()
    period = serializers.ChoiceField(choices=Period.choices)
    stratify_by = serializers.CharField()
    sale_dates = serializers.ListField(child=serializers.DateField())
    sales = serializers.IntegerField()
    county_trend = TrendPeriodSerializer(many=True)
    strata = TrendStratumSerializer(many=True)


class TimeIndexMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM.")
    index = serializers.FloatField(help_text="Price level relative to the valuation date.")
    factor = serializers.FloatField(help_text="Multiplies a price of the month to bring it to the valuation date.")
    sales = serializers.IntegerField()


class TimeAdjustmentResultSerializer(serializers.Serializer):
    analysis = serializers.ChoiceField(choices=[TIME_ADJUSTMENT])
    county = serializers.CharField()
    time_index = serializers.IntegerField(help_text="The stored index's id.")
    method = serializers.CharField()
    valuation_date = serializers.DateField()
    sale_dates = serializers.ListField(child=serializers.DateField())
    sales_used = serializers.IntegerField()
    r_squared = serializers.FloatField()
    monthly_trend = serializers.FloatField(help_text="Average change of log price per month.")
    annual_change = serializers.FloatField()
    recent_trend = serializers.FloatField()
    regressors = serializers.IntegerField()
    months = TimeIndexMonthSerializer(many=True)


class NeighborhoodRatioSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    median = serializers.FloatField()
    cod = serializers.FloatField()
    prd = serializers.FloatField()


class NeighborhoodRowSerializer(serializers.Serializer):
    neighborhood = serializers.CharField()
    name = serializers.CharField()
    parcels = serializers.IntegerField()
    active_parcels = serializers.IntegerField()
    valued_parcels = serializers.IntegerField()
    land_value = serializers.IntegerField()
    improvement_value = serializers.IntegerField()
    market_value = serializers.IntegerField()
    assessed_value = serializers.IntegerField()
    median_market_value = serializers.FloatField(allow_null=True)
    sales = serializers.IntegerField()
    median_sale_price = serializers.FloatField(allow_null=True)
    ratio = NeighborhoodRatioSerializer(allow_null=True, help_text="Null under the county's min_sales.")


class NeighborhoodSummaryResultSerializer(serializers.Serializer):
    analysis = serializers.ChoiceField(choices=[NEIGHBORHOOD_SUMMARY])
    county = serializers.CharField()
    roll_year = serializers.IntegerField()
    value_source = serializers.CharField()
    sale_dates = serializers.ListField(child=serializers.DateField())
    neighborhoods = NeighborhoodRowSerializer(many=True)
    totals = serializers.DictField(child=serializers.IntegerField())


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="MarketAnalysisResult",
        serializers={
            RATIO_STUDY: RatioStudyResultSerializer,
            PRICE_TRENDS: PriceTrendsResultSerializer,
            TIME_ADJUSTMENT: TimeAdjustmentResultSerializer,
            NEIGHBORHOOD_SUMMARY: NeighborhoodSummaryResultSerializer,
        },
        resource_type_field_name="analysis",
    )
)
class MarketAnalysisResultField(serializers.JSONField):
    """A market analysis's result summary; its shape depends on `analysis`."""
