from rest_framework import serializers

from market_analysis.api.serializers import MarketAnalysisParametersSerializer
from properties.choices import ValueSource
from reporting.choices import FORMATS, ReportFormat, ReportType


class ReportParametersSerializer(serializers.Serializer):
    """Which report, in which format, for which roll year; a ratio study's own parameters under `study`."""

    report_type = serializers.ChoiceField(choices=ReportType.choices, default=ReportType.COUNTY_SUMMARY)
    format = serializers.ChoiceField(
        choices=ReportFormat.choices, required=False,
        help_text="csv, xlsx or pdf (the assessment roll: csv or xlsx). Default: the report's first (csv for the "
        "summary and the roll, pdf for the others).",
    )  # fmt: skip
    roll_year = serializers.IntegerField(
        required=False, min_value=1900, max_value=2200, help_text="Default: the county's working roll year."
    )
    value_source = serializers.ChoiceField(
        choices=ValueSource.choices, default=ValueSource.PACS, help_text="Whose values of the roll year."
    )
    study = MarketAnalysisParametersSerializer(
        required=False,
        help_text="The ratio study's parameters (stratify_by, trimming, washington_rules, resamples, ...), as a "
        "market-analysis ratio_study takes them; its roll year and value source are the report's.",
    )

    def validate(self, attrs):
        report = attrs["report_type"]
        allowed = FORMATS[report]
        attrs.setdefault("format", allowed[0])
        if attrs["format"] not in allowed:
            raise serializers.ValidationError(
                {"format": f"A {report} report is written as {', '.join(allowed)}, not {attrs['format']}."}
            )
        if "study" in attrs and report != ReportType.RATIO_STUDY:
            raise serializers.ValidationError({"study": "Only a ratio_study report takes study parameters."})
        if report == ReportType.RATIO_STUDY:
            study = dict(attrs.get("study") or MarketAnalysisParametersSerializer().to_internal_value({}))
            study.pop("roll_year", None)
            study.pop("value_source", None)
            attrs["study"] = study
        return attrs
