from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from counties.access import user_can
from counties.models import County
from counties.roles import APPROVE_INGESTION, RUN_INGESTION
from ingestion.api.serializers import UploadCreateSerializer, UploadDecisionSerializer, UploadSerializer
from ingestion.jobs import INGESTION_JOBS
from ingestion.models import Upload
from ingestion.services import UploadDecisionRefused, upload_approve, upload_receive, upload_reject
from ingestion.uploads import UploadRefused
from terrafusion.api.exceptions import Conflict, ErrorSerializer
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
    parser_classes = [MultiPartParser, FormParser, JSONParser]  # a file comes as multipart; a decision as JSON too

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

    def _decide(self, request, pk) -> Upload:
        """The upload, for a decision on it: its county's approve_ingestion is needed (the queryset already hides
        counties the user may not view)."""
        upload = self.get_object()
        if not user_can(request.user, APPROVE_INGESTION, upload.county_id):
            raise PermissionDenied("Approving or rejecting uploads needs the county's approve_ingestion.")
        return upload

    @extend_schema(
        request=UploadDecisionSerializer,
        responses={200: UploadSerializer, 403: OpenApiResponse(ErrorSerializer), 409: OpenApiResponse(ErrorSerializer)},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve a validated upload: by another person than its uploader (four eyes). Its rejected rows are left
        out: the approval applies only the valid rows, and says so."""
        upload = self._decide(request, pk)
        try:
            upload = upload_approve(upload=upload, user=request.user, note=request.data.get("note", ""))
        except UploadDecisionRefused as exc:
            raise (PermissionDenied if exc.four_eyes else Conflict)(str(exc)) from None
        return Response(self.get_serializer(upload).data)

    @extend_schema(
        request=UploadDecisionSerializer,
        responses={200: UploadSerializer, 403: OpenApiResponse(ErrorSerializer), 409: OpenApiResponse(ErrorSerializer)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject an upload not yet approved: it will never change anything (upload a corrected file instead)."""
        upload = self._decide(request, pk)
        try:
            upload = upload_reject(upload=upload, user=request.user, note=request.data.get("note", ""))
        except UploadDecisionRefused as exc:
            raise Conflict(str(exc)) from None
        return Response(self.get_serializer(upload).data)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def original(self, request, pk=None):
        """The file as it was uploaded."""
        upload = self.get_object()
        return FileResponse(upload.file.open("rb"), as_attachment=True, filename=upload.original_name)
