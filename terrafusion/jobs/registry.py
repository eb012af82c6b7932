"""Job kinds: each is one declaration, and everything else about it follows from the registry.

An app declares a kind in its `jobs.py`:

    REPORT_JOBS = JobKind(
        slug="reporting", model=ReportJob, runner=ReportJobRunner,
        parameters=ReportParametersSerializer, run_codename=RUN_REPORT,
        example_parameters={"report_type": "county_summary"},
    )

From it the framework derives the API viewset and routes (`/api/v1/<slug>/jobs/...` with the seed
aliases), the admin (start, follow, cancel, download), the workers' dispatch, the sweep, the
metrics, and the access-contract tests. `terrafusion.apps` imports every app's `jobs` module when
Django starts, so the registry is complete before URLs, the admin or a worker need it.
"""

from dataclasses import dataclass, field
from typing import Any

_KINDS: dict[str, "JobKind"] = {}


@dataclass(eq=False)
class JobKind:
    """A job kind: its row model, its runner, the serializer of its parameters, and who may start one."""

    slug: str  # URL segment and metric prefix: "reporting", "market-analysis", ...
    model: type  # a concrete terrafusion.jobs.models.BaseJob
    runner: type  # a terrafusion.jobs.runner.JobRunner subclass
    parameters: type  # a DRF Serializer validating `parameters`
    run_codename: str  # the County codename needed to start (and cancel) one
    example_parameters: dict[str, Any] = field(default_factory=dict)  # valid parameters: docs and tests
    queue_name: str = "default"
    result: type | None = None  # a DRF Serializer documenting the result summary (OpenAPI), if the kind has one
    example_result: dict[str, Any] | None = None  # a valid result summary (tests); None: any JSON is valid
    # Whether a running job may be cancelled: its runner's writes check the job is still going (lock_if_going) and
    # keep nothing once it is not. Otherwise only a pending job can be cancelled.
    cancellable_while_running: bool = False
    # Parameters whose values label the kind's metrics beside the county (a GIS export's format).
    metric_labels: tuple[str, ...] = ()
    # The setting that says for how many hours a finished job's files can be downloaded (None: for ever); the sweep
    # deletes them afterwards.
    file_ttl_setting: str | None = None

    def __post_init__(self) -> None:
        registered = _KINDS.get(self.slug)
        if registered is not None and registered.model is not self.model:
            raise ValueError(f"Job kind {self.slug!r} is declared twice ({registered.model} and {self.model}).")
        # The row knows its kind: file paths, log lines, the sweep and metrics read it from the model.
        self.model.job_kind = self
        self.model.kind = self.slug
        self.model.run_codename = self.run_codename
        self.model.queue_name = self.queue_name
        _KINDS[self.slug] = self

    @property
    def label(self) -> str:
        return self.model._meta.verbose_name

    @property
    def class_prefix(self) -> str:
        """The kind in CamelCase, for the names of its generated classes ("market-analysis" -> "MarketAnalysis")."""
        return "".join(part.capitalize() for part in self.slug.replace("_", "-").split("-"))

    def validate_parameters(self, data: Any) -> dict:
        """The parameters as the kind's serializer cleans them; DRF ValidationError when they are not valid."""
        from rest_framework import serializers

        if not isinstance(data, dict):
            raise serializers.ValidationError("Give the parameters as a JSON object.")
        serializer = self.parameters(data=data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


def job_kinds() -> list[JobKind]:
    return sorted(_KINDS.values(), key=lambda kind: kind.slug)


def job_models() -> list:
    return [kind.model for kind in job_kinds()]


def job_kind_for_model(model) -> JobKind:
    kind = getattr(model, "job_kind", None)
    if kind is None:
        raise LookupError(f"{model} is not declared as a job kind (JobKind in its app's jobs.py).")
    return kind


def autodiscover() -> None:
    """Import every installed app's `jobs` module, where job kinds are declared."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("jobs")
