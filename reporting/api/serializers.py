from rest_framework import serializers

from reporting.choices import ReportType


class ReportParametersSerializer(serializers.Serializer):
    report_type = serializers.ChoiceField(choices=ReportType.choices, default=ReportType.COUNTY_SUMMARY)
