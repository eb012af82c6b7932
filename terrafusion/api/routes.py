"""The API's routes, gathered from the apps: each app declares its own in `<app>/api/urls.py`, and each
job kind's routes follow from its declaration. Adding an app to INSTALLED_APPS is all it takes."""

from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.urls import include, path


def project_app_configs() -> list:
    """The project's own apps (settings.LOCAL_APPS), in settings order."""
    return [apps.get_app_config(label.rsplit(".", 1)[-1]) for label in settings.LOCAL_APPS]


def app_api_urlpatterns() -> list:
    """`<app>.api.urls` of every project app that has one, mounted at the API's root."""
    return [
        path("", include(f"{config.name}.api.urls"))
        for config in project_app_configs()
        if find_spec(f"{config.name}.api") is not None and find_spec(f"{config.name}.api.urls") is not None
    ]


def job_kind_urlpatterns() -> list:
    """`/<kind>/jobs/...` and the seed aliases for every declared job kind."""
    from terrafusion.jobs.api import job_urlpatterns
    from terrafusion.jobs.registry import job_kinds

    return [pattern for kind in job_kinds() for pattern in job_urlpatterns(kind)]
