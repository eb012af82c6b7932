from django.utils import timezone
from rest_framework import serializers
from rest_framework.reverse import reverse

from ingestion.choices import IngestionOperation
from ingestion.models import Upload
from ingestion.uploads import UploadKind


class IngestionParametersSerializer(serializers.Serializer):
    operation = serializers.ChoiceField(choices=IngestionOperation.choices, default=IngestionOperation.PACS_BULK_LOAD)
    roll_year = serializers.IntegerField(
        min_value=1900,
        max_value=2200,
        required=False,
        help_text="The PACS roll year to load (default: the county's working year).",
    )
    dry_run = serializers.BooleanField(default=False, help_text="Read, check and count; write nothing.")
    upload = serializers.UUIDField(required=False, help_text="upload_validate: the upload (its id) to validate.")

    def validate(self, attrs):
        if attrs["operation"] == IngestionOperation.UPLOAD_VALIDATE:
            if "upload" not in attrs:
                raise serializers.ValidationError({"upload": "upload_validate needs the upload's id."})
            attrs["upload"] = str(attrs["upload"])  # stored as JSON
        elif "upload" in attrs:
            raise serializers.ValidationError({"upload": "applies to upload_validate only."})
        return attrs

    def validate_roll_year(self, year: int) -> int:
        if year > timezone.localdate().year + 2:
            raise serializers.ValidationError("A roll year at most two years ahead.")
        return year


class UploadSerializer(serializers.ModelSerializer):
    county = serializers.CharField(source="county.slug", read_only=True)
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True, allow_null=True)
    approved_by = serializers.CharField(source="approved_by.username", read_only=True, allow_null=True)
    original_url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = [
            "id", "county", "kind", "state", "original_name", "size", "column_mapping", "sheet", "rows", "encoding",
            "uploaded_by", "approved_by", "preview", "message", "created_at", "validated_at", "approved_at",
            "applied_at", "original_url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_original_url(self, upload) -> str:
        return reverse("api:ingestion-upload-original", args=[upload.pk], request=self.context.get("request"))


class UploadCreateSerializer(serializers.Serializer):
    """A CSV or XLSX file of one kind for one county (multipart), with an optional column mapping."""

    county = serializers.SlugField(help_text="The county's slug.")
    kind = serializers.ChoiceField(choices=UploadKind.choices)
    file = serializers.FileField(help_text="CSV (UTF-8 or Windows-1252) or XLSX.")
    column_mapping = serializers.JSONField(
        required=False, help_text='File column -> field, as a JSON object: {"Parcel": "parcel_number"}.'
    )
    sheet = serializers.CharField(required=False, max_length=100, help_text="The workbook's sheet, if it has several.")

    def validate_column_mapping(self, value):  # a form's text is parsed as JSON by the field already
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise serializers.ValidationError("Give a JSON object: file column -> field.")
        return value


class UploadDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, max_length=1000, help_text="Why: kept on the upload.")
