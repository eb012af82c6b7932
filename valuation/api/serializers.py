from rest_framework import serializers

from valuation.choices import ValuationMethod


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
        default=0.2, min_value=0.0, max_value=0.5, help_text="Share of the sales kept out of training, to judge it."
    )
    seed = serializers.IntegerField(default=0, min_value=0, help_text="Which sales are held out.")

    def validate(self, attrs):
        if attrs.get("property") and "holdout_share" not in self.initial_data:
            attrs["holdout_share"] = 0.0
        if attrs.get("property") and attrs.get("neighborhoods"):
            raise serializers.ValidationError({"neighborhoods": "Give either a property or neighborhoods, not both."})
        start, end = attrs.get("sale_date_from"), attrs.get("sale_date_to")
        if start and end and start > end:
            raise serializers.ValidationError({"sale_date_to": f"must not be before sale_date_from ({start})."})
        for name in ("sale_date_from", "sale_date_to"):  # stored as JSON
            if name in attrs:
                attrs[name] = attrs[name].isoformat()
        return attrs
