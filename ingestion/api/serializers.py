from django.utils import timezone
from rest_framework import serializers

from ingestion.choices import IngestionOperation


class IngestionParametersSerializer(serializers.Serializer):
    operation = serializers.ChoiceField(choices=IngestionOperation.choices, default=IngestionOperation.PACS_BULK_LOAD)
    roll_year = serializers.IntegerField(
        min_value=1900,
        max_value=2200,
        required=False,
        help_text="The PACS roll year to load (default: the county's working year).",
    )
    dry_run = serializers.BooleanField(default=False, help_text="Read, check and count; write nothing.")

    def validate_roll_year(self, year: int) -> int:
        if year > timezone.localdate().year + 2:
            raise serializers.ValidationError("A roll year at most two years ahead.")
        return year
