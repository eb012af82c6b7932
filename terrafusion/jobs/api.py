"""The job API every kind gets from its declaration: `/api/v1/<kind>/jobs/` and the seed-gateway aliases.

`job_urlpatterns(kind)` builds the kind's viewset (its serializers typed with the kind's parameters,
so the OpenAPI schema documents each kind's parameters) and its routes; no app writes a job view.
A kind may type its result summary too (`JobKind.result`), for the schema of `results/`.
"""

import django_filters
from django.core.files.storage import default_storage
from django.http import FileResponse
from django.urls import path
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled
from rest_framework.response import Response
from rest_framework.reverse import reverse

from counties.models import County
from terrafusion.api.exceptions import Conflict, ErrorSerializer, Gone
from terrafusion.api.filters import CountyScopedFilterSet
from terrafusion.api.pagination import NewestFirstCursorPagination
from terrafusion.api.throttling import ScopedRateThrottle
from terrafusion.api.viewsets import CountyScopedViewSetMixin
from terrafusion.jobs.models import JobStatus
from terrafusion.jobs.registry import JobKind
from terrafusion.jobs.runner import JobLimitReached, job_cancel, job_start


class JobFileSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The file's name: its URL's last segment and its download name.")
    title = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    url = serializers.SerializerMethodField()

    def get_url(self, entry) -> str:
        job = self.context["job"]
        return reverse(f"api:{job.kind}-job-file", args=[job.pk, entry["name"]], request=self.context.get("request"))


class JobSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    kind = serializers.CharField(read_only=True)
    county = serializers.CharField(source="county.slug", read_only=True)
    status = serializers.ChoiceField(choices=JobStatus.choices, read_only=True)
    parameters = serializers.JSONField(read_only=True)  # typed per kind by job_serializers()
    progress = serializers.FloatField(read_only=True)
    progress_message = serializers.CharField(read_only=True)
    error_message = serializers.CharField(read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    files_expire_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When its files stop being downloadable (GIS exports); null: kept."
    )
    has_file = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    results_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    def get_has_file(self, job) -> bool:
        return bool(job.files)

    @extend_schema_field(JobFileSerializer(many=True))
    def get_files(self, job) -> list[dict]:
        """The job's result files (once it has completed), each downloadable from its own URL."""
        if job.status != JobStatus.COMPLETED:
            return []
        return JobFileSerializer(job.files, many=True, context={**self.context, "job": job}).data

    def _link(self, job, name: str) -> str:
        return reverse(f"api:{job.kind}-job-{name}", args=[job.pk], request=self.context.get("request"))

    def get_url(self, job) -> str:
        return self._link(job, "detail")

    def get_results_url(self, job) -> str:
        return self._link(job, "results")

    def get_download_url(self, job) -> str | None:
        return self._link(job, "download") if job.files else None


class JobLogEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    level = serializers.CharField()
    message = serializers.CharField()


class JobDetailSerializer(JobSerializer):
    log = JobLogEntrySerializer(many=True, read_only=True)
    worker_name = serializers.CharField(read_only=True)


class JobResultSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=JobStatus.choices)
    result = serializers.JSONField(allow_null=True)  # typed per kind by job_viewset() when the kind declares it
    download_url = serializers.CharField(allow_null=True)
    files = JobFileSerializer(many=True)


class JobCreateSerializer(serializers.Serializer):
    """The body of a job start; `job_viewset` makes one per kind, whose `parameters` is the kind's serializer."""

    county = serializers.SlugField(help_text="County slug, e.g. benton-wa.")

    def validate(self, attrs):
        if "parameters" not in attrs:  # omitted: the kind's defaults
            attrs["parameters"] = self.context["job_kind"].validate_parameters({})
        return attrs


class JobFilterSet(CountyScopedFilterSet):
    status = django_filters.ChoiceFilter(choices=JobStatus.choices)


class JobCreateThrottle(ScopedRateThrottle):
    """Starting jobs has its own, tighter rate per user (API_THROTTLE_JOBS)."""

    scope_attr = "job_create_scope"


class JobViewSet(CountyScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Start, list and follow jobs of one kind; read their results and download their files."""

    job_kind: JobKind
    output_serializer = JobSerializer
    detail_serializer = JobDetailSerializer
    create_serializer = JobCreateSerializer
    pagination_class = NewestFirstCursorPagination
    filterset_class = JobFilterSet
    search_fields = []
    job_create_scope = "job_create"

    @property
    def write_action(self) -> str:
        return self.job_kind.run_codename

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.action == "create":
            throttles.append(JobCreateThrottle())
        return throttles

    def get_queryset(self):
        return super().get_queryset().select_related("county", "requested_by")

    def get_serializer_class(self):
        return self.detail_serializer if self.action == "retrieve" else self.output_serializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "job_kind": self.job_kind}

    @extend_schema(
        responses={202: OpenApiResponse(description="The job, queued (or failed, if its queue is unreachable).")},
        description=(
            "Start a job in a county (needs the county's run permission for this kind). The answer is 202 with "
            "the job; if the job queue cannot be reached, the job comes back `failed`, with the reason in "
            "`error_message`. Each user may have JOB_MAX_UNFINISHED_PER_USER jobs pending or running at once "
            "(429 beyond)."
        ),
    )
    def create(self, request, *args, **kwargs):
        kind = self.job_kind
        serializer = self.create_serializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        slug = serializer.validated_data["county"]
        # A county the user may not run jobs in and one that does not exist get the same answer, so
        # the API does not reveal which counties exist.
        county = County.objects.restrict(request.user, kind.run_codename).filter(slug=slug, is_active=True).first()
        if county is None:
            raise PermissionDenied(f"You may not run {kind.slug} jobs in county {slug!r}.")
        try:
            job = job_start(
                kind=kind, user=request.user, county=county, parameters=serializer.validated_data["parameters"]
            )
        except JobLimitReached as exc:
            raise Throttled(detail=str(exc)) from None
        data = self.output_serializer(job, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})

    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """The result summary of a completed job and its files; 409 while it is pending, running, failed or
        cancelled."""
        job = self.get_object()
        if job.status != JobStatus.COMPLETED:
            detail = f"The job is {job.status}; results exist once it has completed."
            if job.status == JobStatus.FAILED:
                detail += f" It failed: {job.error_message}"
            raise Conflict(detail)
        data = self.output_serializer(job, context=self.get_serializer_context()).data
        return Response(
            {
                "id": job.pk,
                "status": job.status,
                "result": job.result,
                "download_url": data["download_url"],
                "files": data["files"],
            }
        )

    @extend_schema(
        responses={
            (200, "application/octet-stream"): bytes,
            409: OpenApiResponse(ErrorSerializer),
            410: OpenApiResponse(ErrorSerializer, description="The files expired (GIS exports)."),
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The job's main result file (the first it made), as an attachment."""
        job = self._completed(self.get_object())
        if job.main_file is None:
            raise NotFound("This job made no file.")
        return result_file_response(job.main_file)

    @extend_schema(
        parameters=[OpenApiParameter("name", str, OpenApiParameter.PATH, description="The file's name.")],
        responses={
            (200, "application/octet-stream"): bytes,
            404: OpenApiResponse(ErrorSerializer),
            409: OpenApiResponse(ErrorSerializer),
            410: OpenApiResponse(ErrorSerializer, description="The files expired (GIS exports)."),
        },
    )
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None, name=None):
        """One of the job's result files, by name (as listed in the job's `files`), as an attachment."""
        job = self._completed(self.get_object())
        entry = job.file(name)
        if entry is None:
            raise NotFound(f"This job made no file called {name!r}.")
        return result_file_response(entry)

    def _completed(self, job):
        if job.status != JobStatus.COMPLETED:
            raise Conflict(f"The job is {job.status}; its files exist once it has completed.")
        if job.files_expired:
            raise Gone(
                f"The job's files expired at {job.files_expire_at:%Y-%m-%d %H:%M %Z} and were deleted; run it again."
            )
        return job

    @extend_schema(request=None, responses={200: OpenApiResponse(), 409: OpenApiResponse(ErrorSerializer)})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a pending job, or a running one of a kind that allows it (valuation): it stops at its next step
        and keeps nothing of its unfinished parts. Needs the kind's run permission in the job's county."""
        job = self.get_object()  # CountyPermission checks write_action, the run codename, on the job's county
        if not job_cancel(job=job):
            raise Conflict(f"The job is {job.status}; it cannot be cancelled now.")
        return Response(self.output_serializer(job, context=self.get_serializer_context()).data)


def result_file_response(entry: dict, *, inline: bool = False) -> FileResponse:
    """A job's result file (an entry of `job.files`) as a download, or inline (the admin shows charts)."""
    return FileResponse(
        default_storage.open(entry["path"], "rb"),
        as_attachment=not inline,
        filename=entry["name"],
        content_type=entry["content_type"],
    )


def job_viewset(kind: JobKind) -> type[JobViewSet]:
    """The kind's viewset, with serializers named after it and typed with its parameters (for OpenAPI)."""
    name = kind.class_prefix
    output = type(f"{name}JobSerializer", (JobSerializer,), {"parameters": kind.parameters(read_only=True)})
    # Fields of both: the kind's typed parameters (DRF takes a field from the first base that declares it),
    # and the detail's log and worker.
    detail = type(f"{name}JobDetailSerializer", (output, JobDetailSerializer), {})
    create = type(f"{name}JobCreateSerializer", (JobCreateSerializer,), {"parameters": kind.parameters(required=False)})
    viewset = type(
        f"{name}JobViewSet",
        (JobViewSet,),
        {
            "__doc__": f"Start, list and follow {kind.label}s; read their results and download their files.",
            "job_kind": kind,
            "queryset": kind.model.objects.all(),
            "output_serializer": output,
            "detail_serializer": detail,
            "create_serializer": create,
        },
    )
    result = JobResultSerializer
    if kind.result is not None:
        result = type(f"{name}JobResultSerializer", (JobResultSerializer,), {"result": kind.result(allow_null=True)})
    return extend_schema_view(
        create=extend_schema(request=create, responses={202: output, 403: OpenApiResponse(ErrorSerializer)}),
        cancel=extend_schema(request=None, responses={200: output, 409: OpenApiResponse(ErrorSerializer)}),
        results=extend_schema(responses={200: result, 409: OpenApiResponse(ErrorSerializer)}),
    )(viewset)


def job_urlpatterns(kind: JobKind) -> list:
    """The routes of one job kind, named `api:<kind>-job-<action>`, with the seed-gateway aliases."""
    viewset = job_viewset(kind)
    slug = kind.slug
    collection = viewset.as_view({"get": "list", "post": "create"})
    detail = viewset.as_view({"get": "retrieve"})
    results = viewset.as_view({"get": "results"})
    download = viewset.as_view({"get": "download"})
    file = viewset.as_view({"get": "file"})
    cancel = viewset.as_view({"post": "cancel"})
    return [
        path(f"{slug}/jobs/", collection, name=f"{slug}-job-list"),
        path(f"{slug}/jobs/<uuid:pk>/", detail, name=f"{slug}-job-detail"),
        path(f"{slug}/jobs/<uuid:pk>/results/", results, name=f"{slug}-job-results"),
        path(f"{slug}/jobs/<uuid:pk>/download/", download, name=f"{slug}-job-download"),
        path(f"{slug}/jobs/<uuid:pk>/files/<str:name>/", file, name=f"{slug}-job-file"),
        path(f"{slug}/jobs/<uuid:pk>/cancel/", cancel, name=f"{slug}-job-cancel"),
        # Aliases kept for clients of the seed gateway.
        path(f"{slug}/run", viewset.as_view({"post": "create"}), name=f"{slug}-run"),
        path(f"{slug}/status/<uuid:pk>", detail, name=f"{slug}-status"),
        path(f"{slug}/results/<uuid:pk>", results, name=f"{slug}-results"),
    ]
