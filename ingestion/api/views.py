from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from counties.models import County
from counties.roles import RUN_INGESTION
from ingestion.api.serializers import UploadCreateSerializer, UploadSerializer
from ingestion.jobs import INGESTION_JOBS
from ingestion.models import Upload
from ingestion.services import upload_receive
from ingestion.uploads import UploadRefused
from terrafusion.api.exceptions import ErrorSerializer
from terrafusion.api.viewsets import CountyScopedViewSetMixin
from terrafusion.jobs.runner import job_start


class UploadViewSet(
    CountyScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Uploaded files of property data (characteristics, sales, value adjustments) of the counties you may view: a
    file is read at once (refused with the reason when it cannot be a table of its kind) and kept as it came."""

    queryset = Upload.objects.select_related("county", "uploaded_by", "approved_by")
    serializer_class = UploadSerializer
    write_action = RUN_INGESTION
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": UploadCreateSerializer},
        responses={201: UploadSerializer, 400: OpenApiResponse(ErrorSerializer), 403: OpenApiResponse(ErrorSerializer)},
    )
    def create(self, request, *args, **kwargs):
        given = UploadCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        county = (
            County.objects.restrict(request.user, RUN_INGESTION).filter(slug=data["county"], is_active=True).first()
        )
        if county is None:
            raise PermissionDenied(f"You may not upload files to county {data['county']!r}.")
        if data["file"].size > settings.INGESTION_UPLOAD_MAX_BYTES:
            raise serializers.ValidationError(
                {"file": f"The file has {data['file'].size:,} bytes; at most {settings.INGESTION_UPLOAD_MAX_BYTES:,}."}
            )
        try:
            upload = upload_receive(
                county=county, kind=data["kind"], file=data["file"], user=request.user,
                mapping=data.get("column_mapping") or {}, sheet=data.get("sheet") or None,
            )  # fmt: skip
        except UploadRefused as exc:
            raise serializers.ValidationError({"file": str(exc)}) from None
        # Validation runs as a job (every row checked against the county's data); the upload shows its preview.
        validation = INGESTION_JOBS.validate_parameters({"operation": "upload_validate", "upload": str(upload.pk)})
        job_start(kind=INGESTION_JOBS, user=request.user, county=county, parameters=validation)
        return Response(self.get_serializer(upload).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def original(self, request, pk=None):
        """The file as it was uploaded."""
        upload = self.get_object()
        return FileResponse(upload.file.open("rb"), as_attachment=True, filename=upload.original_name)
