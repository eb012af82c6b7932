"""System checks for deployment (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_secrets_from_environment(app_configs, **kwargs):
    errors = []
    if not settings.SECRET_KEY_FROM_ENVIRONMENT:
        errors.append(
            Error(
                "SECRET_KEY is the quick start's generated key in var/, not set in the environment.",
                hint="Set SECRET_KEY (and JWT_SIGNING_KEY if tokens should survive a SECRET_KEY rotation).",
                id="terrafusion.E001",
            )
        )
    if not settings.METRICS_TOKEN:
        errors.append(
            Warning(
                "/metrics is open to anyone who can reach the server.",
                hint="Set METRICS_TOKEN and give Prometheus the same bearer token (deploy/prometheus.yml).",
                id="terrafusion.W002",
            )
        )
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        errors.append(
            Warning(
                "The database is the quick start's SQLite file.",
                hint="Set DATABASE_URL to a PostgreSQL database for production.",
                id="terrafusion.W001",
            )
        )
    return errors
