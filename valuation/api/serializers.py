from rest_framework import serializers

from valuation.choices import ResultFlag, ValuationMethod
from valuation.models import ValuationResult


class ValuationParametersSerializer(serializers.Serializer):
    """A mass appraisal (its method, roll year and scope), or one property's value with its evidence."""

    method = serializers.ChoiceField(choices=ValuationMethod.choices, default=ValuationMethod.HEDONIC)
    roll_year = serializers.IntegerField(
        required=False, min_value=1900, max_value=2200, help_text="Default: the county's working roll year."
    )
    neighborhoods = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, max_length=500,
        help_text="Only these neighborhoods (codes): their sales train the model, their parcels are valued.",
    )  # fmt: skip
    property = serializers.IntegerField(
        required=False, min_value=1,
        help_text="Value only this property (its id): the result explains the value (for comparable sales, the grid). "
        "All the sales in scope train the model unless holdout_share is given.",
    )  # fmt: skip
    sale_date_from = serializers.DateField(required=False, help_text="Default: five years before the valuation date.")
    sale_date_to = serializers.DateField(required=False, help_text="Default: the day before the valuation date.")
    holdout_share = serializers.FloatField(
        required=False, min_value=0.0, max_value=0.5,
        help_text="Share of the sales kept out of training, to judge it. Default: 0.2; 0 for one property.",
    )  # fmt: skip
    seed = serializers.IntegerField(default=0, min_value=0, help_text="Which sales are held out.")

    def validate(self, attrs):
        if "holdout_share" not in attrs:  # one property: every sale is evidence; a mass appraisal judges itself
            attrs["holdout_share"] = 0.0 if attrs.get("property") else 0.2
        if attrs.get("property") and attrs.get("neighborhoods"):
            raise serializers.ValidationError({"neighborhoods": "Give either a property or neighborhoods, not both."})
        start, end = attrs.get("sale_date_from"), attrs.get("sale_date_to")
        if start and end and start > end:
            raise serializers.ValidationError({"sale_date_to": f"must not be before sale_date_from ({start})."})
        for name in ("sale_date_from", "sale_date_to"):  # stored as JSON
            if name in attrs:
                attrs[name] = attrs[name].isoformat()
        return attrs


class ValuationResultSerializer(serializers.ModelSerializer):
    parcel_number = serializers.CharField(source="property.parcel_number", read_only=True)
    neighborhood = serializers.CharField(source="property.neighborhood.code", read_only=True, default="")
    flags = serializers.ListField(child=serializers.ChoiceField(choices=ResultFlag.choices), read_only=True)

    class Meta:
        model = ValuationResult
        fields = [
            "id", "job", "property", "parcel_number", "neighborhood", "roll_year", "method", "estimate", "land_value",
            "improvement_value", "low", "high", "current_value", "change", "flags",
        ]  # fmt: skip
        read_only_fields = fields


class ContributionSerializer(serializers.Serializer):
    term = serializers.CharField()
    log_contribution = serializers.FloatField(help_text="Its part of log(value).")
    factor = serializers.FloatField(help_text="exp(log_contribution): what it multiplies the value by.")
    amount = serializers.IntegerField(help_text="Dollars it adds, applied in the order listed.")


class AdjustmentSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="time, living area, age, land, quality, condition, location or class.")
    subject = serializers.JSONField()
    comparable = serializers.JSONField()
    percent = serializers.FloatField()
    amount = serializers.IntegerField(help_text="Dollars, applied in the order listed: they add up to the net.")


class ComparableSerializer(serializers.Serializer):
    sale = serializers.DictField(help_text="id, sale_id, property, parcel_number, sale_date, sale_price.")
    distance_m = serializers.FloatField()
    distance_miles = serializers.FloatField()
    price = serializers.IntegerField()
    adjustments = AdjustmentSerializer(many=True)
    net_adjustment = serializers.IntegerField()
    gross_adjustment_percent = serializers.FloatField()
    adjusted_price = serializers.IntegerField()
    weight = serializers.FloatField()


class ValuationExplanationSerializer(serializers.Serializer):
    """Why a parcel has its value: the hedonic terms' or the gradient-boosted model's contributions (which add up
    to log(value)), or for comparable sales the grid (the value is the weighted mean of the adjusted prices)."""

    result = serializers.IntegerField(required=False)
    property = serializers.IntegerField(required=False)
    estimate = serializers.IntegerField(required=False, help_text="The stored estimate.")
    method = serializers.ChoiceField(choices=ValuationMethod.choices)
    value = serializers.IntegerField(allow_null=True, help_text="The value recomputed now from the kept model.")
    low = serializers.IntegerField(allow_null=True)
    high = serializers.IntegerField(allow_null=True)
    valuation_date = serializers.DateField()
    log_value = serializers.FloatField(required=False)
    contributions = ContributionSerializer(many=True, required=False)
    subject = serializers.DictField(required=False)
    comparables = ComparableSerializer(many=True, required=False)


class ValuationApplySerializer(serializers.Serializer):
    filter = serializers.DictField(
        required=False, default=dict,
        help_text="Which results to apply, in the results list's filters (e.g. {\"neighborhood\": \"1001\", "
        "\"exclude_flag\": \"large_change\"}); default: all of the job's results.",
    )  # fmt: skip
    overwrite_certified = serializers.BooleanField(
        default=False, help_text="Change values of a certified roll year (or certified parcels). Never by default."
    )


class ValuationAppliedSerializer(serializers.Serializer):
    job = serializers.UUIDField()
    roll_year = serializers.IntegerField()
    results = serializers.IntegerField(help_text="Results chosen by the filter.")
    written = serializers.IntegerField(help_text="Parcels whose values changed.")
    unchanged = serializers.IntegerField(help_text="Parcels that already had these values.")
    certified = serializers.IntegerField(help_text="Parcels left alone: their roll-year values are certified.")
    current_updated = serializers.IntegerField(help_text="Parcels whose current values are now these.")
