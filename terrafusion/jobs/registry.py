"""Every concrete job kind, found from the installed apps."""

from django.apps import apps


def job_models() -> list:
    from terrafusion.jobs.models import BaseJob

    return [model for model in apps.get_models() if issubclass(model, BaseJob)]


def job_model_for_kind(kind: str):
    for model in job_models():
        if model.kind == kind:
            return model
    raise LookupError(f"No job kind {kind!r}.")
