"""The base job API every kind gets: `/api/v1/<kind>/jobs/` and the seed-gateway aliases.

A concrete kind's viewset is two lines (`queryset`, and a parameters serializer on the model);
`job_urlpatterns(ViewSet)` gives its routes.
"""

import django_filters
from django.http import FileResponse
from django.urls import path
from django.utils.module_loading import import_string
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.reverse import reverse

from counties.access import user_can
from counties.models import County
from terrafusion.api.exceptions import Conflict, ErrorSerializer
from terrafusion.api.pagination import NewestFirstCursorPagination
from terrafusion.api.viewsets import CountyScopedViewSetMixin
from terrafusion.jobs.models import JobStatus


class JobSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    kind = serializers.CharField(read_only=True)
    county = serializers.CharField(source="county.slug", read_only=True)
    status = serializers.ChoiceField(choices=JobStatus.choices, read_only=True)
    parameters = serializers.JSONField(read_only=True)
    progress = serializers.FloatField(read_only=True)
    progress_message = serializers.CharField(read_only=True)
    error_message = serializers.CharField(read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True)
    finished_at = serializers.DateTimeField(read_only=True)
    duration_seconds = serializers.FloatField(read_only=True)
    has_file = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    results_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    def get_has_file(self, job) -> bool:
        return bool(job.result_file)

    def _link(self, job, name: str) -> str:
        return reverse(f"api:{job.kind}-job-{name}", args=[job.pk], request=self.context.get("request"))

    def get_url(self, job) -> str:
        return self._link(job, "detail")

    def get_results_url(self, job) -> str:
        return self._link(job, "results")

    def get_download_url(self, job) -> str | None:
        return self._link(job, "download") if job.result_file else None


class JobDetailSerializer(JobSerializer):
    log = serializers.JSONField(read_only=True)
    worker_name = serializers.CharField(read_only=True)


class JobResultSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    result = serializers.JSONField()
    download_url = serializers.CharField(allow_null=True)


class JobCreateSerializer(serializers.Serializer):
    county = serializers.SlugField(help_text="County slug, e.g. benton-wa.")
    parameters = serializers.JSONField(required=False, default=dict)

    def validate_parameters(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Give the parameters as a JSON object.")
        parameters_serializer = import_string(self.context["job_model"].parameters_serializer_path)(data=value)
        parameters_serializer.is_valid(raise_exception=True)
        return parameters_serializer.validated_data


class JobFilterSet(django_filters.FilterSet):
    county = django_filters.CharFilter(field_name="county__slug", help_text="County slug.")
    status = django_filters.ChoiceFilter(choices=JobStatus.choices)


class JobViewSet(CountyScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Start, list and follow jobs of one kind; read their results and download their files."""

    serializer_class = JobSerializer
    pagination_class = NewestFirstCursorPagination
    filterset_class = JobFilterSet
    search_fields = []

    @property
    def write_action(self) -> str:
        return self.queryset.model.run_codename

    def get_queryset(self):
        return super().get_queryset().select_related("county", "requested_by")

    def get_serializer_class(self):
        if self.action == "retrieve":
            return JobDetailSerializer
        return JobSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "job_model": self.queryset.model}

    @extend_schema(
        request=JobCreateSerializer,
        responses={202: JobSerializer, 403: OpenApiResponse(ErrorSerializer)},
        description="Start a job in a county (needs the county's run permission for this kind).",
    )
    def create(self, request, *args, **kwargs):
        model = self.queryset.model
        serializer = JobCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        slug = serializer.validated_data["county"]
        # A county the user may not run jobs in and one that does not exist get the same answer, so
        # the API does not reveal which counties exist.
        county = County.objects.restrict(request.user, model.run_codename).filter(slug=slug, is_active=True).first()
        if county is None:
            raise PermissionDenied(f"You may not run {model.kind} jobs in county {slug!r}.")
        job = model.enqueue(
            county=county, requested_by=request.user, parameters=serializer.validated_data["parameters"]
        )
        data = JobSerializer(job, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})

    @extend_schema(responses={200: JobResultSerializer, 409: OpenApiResponse(ErrorSerializer)})
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """The result summary of a completed job; 409 while it is pending, running, failed or cancelled."""
        job = self.get_object()
        if job.status != JobStatus.COMPLETED:
            detail = f"The job is {job.status}; results exist once it has completed."
            if job.status == JobStatus.FAILED:
                detail += f" It failed: {job.error_message}"
            raise Conflict(detail)
        serializer = JobSerializer(job, context=self.get_serializer_context())
        return Response(
            {"id": job.pk, "status": job.status, "result": job.result, "download_url": serializer.data["download_url"]}
        )

    @extend_schema(responses={(200, "application/octet-stream"): bytes, 409: OpenApiResponse(ErrorSerializer)})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The job's result file (as an attachment)."""
        job = self.get_object()
        if job.status != JobStatus.COMPLETED:
            raise Conflict(f"The job is {job.status}; its file exists once it has completed.")
        if not job.result_file:
            raise NotFound("This job made no file.")
        return FileResponse(
            job.result_file.open("rb"), as_attachment=True, filename=job.result_file.name.rsplit("/", 1)[-1]
        )

    @extend_schema(request=None, responses={200: JobSerializer, 409: OpenApiResponse(ErrorSerializer)})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a job that has not started yet."""
        job = self.get_object()
        model = self.queryset.model
        if not user_can(request.user, model.run_codename, job.county_id):
            raise PermissionDenied(f"You may not cancel {model.kind} jobs in {job.county}.")
        if not model.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(status=JobStatus.CANCELLED):
            raise Conflict(f"The job is {job.status}; only a pending job can be cancelled.")
        job.refresh_from_db()
        return Response(JobSerializer(job, context=self.get_serializer_context()).data)


def job_urlpatterns(viewset: type[JobViewSet]) -> list:
    """The routes of one job kind, named `api:<kind>-job-<action>`, with the seed-gateway aliases."""
    kind = viewset.queryset.model.kind
    collection = viewset.as_view({"get": "list", "post": "create"})
    detail = viewset.as_view({"get": "retrieve"})
    results = viewset.as_view({"get": "results"})
    download = viewset.as_view({"get": "download"})
    cancel = viewset.as_view({"post": "cancel"})
    return [
        path(f"{kind}/jobs/", collection, name=f"{kind}-job-list"),
        path(f"{kind}/jobs/<uuid:pk>/", detail, name=f"{kind}-job-detail"),
        path(f"{kind}/jobs/<uuid:pk>/results/", results, name=f"{kind}-job-results"),
        path(f"{kind}/jobs/<uuid:pk>/download/", download, name=f"{kind}-job-download"),
        path(f"{kind}/jobs/<uuid:pk>/cancel/", cancel, name=f"{kind}-job-cancel"),
        # Aliases kept for clients of the seed gateway.
        path(f"{kind}/run", viewset.as_view({"post": "create"}), name=f"{kind}-run"),
        path(f"{kind}/status/<uuid:pk>", detail, name=f"{kind}-status"),
        path(f"{kind}/results/<uuid:pk>", results, name=f"{kind}-results"),
    ]
