"""Liveness and readiness probes. Unauthenticated by design: they reveal only what is down."""

import logging

from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@require_GET
@never_cache
def live(request):
    """The process answers (no dependency is checked)."""
    return JsonResponse({"status": "ok"})


def _check_database(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_redis() -> None:
    import django_rq

    django_rq.get_connection("default").ping()


@require_GET
@never_cache
def ready(request):
    """Database, Redis and (when configured) PACS all answer; 503 names what failed."""
    checks = {"database": lambda: _check_database("default"), "redis": _check_redis}
    if "pacs" in settings.DATABASES:
        checks["pacs"] = lambda: _check_database("pacs")
    results, failed = {}, []
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            # The kind of error only: messages can name hosts and users, and this probe is public.
            logger.exception("Readiness check %s failed", name)
            results[name] = f"error: {exc.__class__.__name__}"
            failed.append(name)
    body = {"status": "ok" if not failed else "unavailable", "checks": results}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)
