"""Settings, health, metrics, OpenAPI docs, the deploy check, and the shared error shape."""

import json
import os
import secrets
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from terrafusion.env import env_bool, env_database, env_duration, env_int

BASE = str(settings.BASE_DIR)


class TestEnvironmentReaders:
    def test_bad_values_fail_fast_naming_the_variable(self, monkeypatch):
        monkeypatch.setenv("DEBUG", "maybe")
        with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
            env_bool("DEBUG", False)
        monkeypatch.setenv("WORKERS", "two")
        with pytest.raises(ImproperlyConfigured, match="WORKERS='two' is not an integer"):
            env_int("WORKERS", 1)
        monkeypatch.setenv("JWT_ACCESS_LIFETIME", "soon")
        with pytest.raises(ImproperlyConfigured, match="JWT_ACCESS_LIFETIME='soon' is not a duration"):
            env_duration("JWT_ACCESS_LIFETIME", timedelta(minutes=5))
        monkeypatch.setenv("DATABASE_URL", "oracle2://x")
        with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
            env_database("DATABASE_URL", None)

    def test_good_values(self, monkeypatch):
        monkeypatch.setenv("JWT_ACCESS_LIFETIME", "15m")
        assert env_duration("JWT_ACCESS_LIFETIME", timedelta(0)) == timedelta(minutes=15)

    def test_a_bad_setting_stops_manage_py_with_the_reason(self):
        env = {**os.environ, "DEBUG": "perhaps"}
        result = subprocess.run(
            [sys.executable, "manage.py", "check"], cwd=BASE, env=env, capture_output=True, text=True
        )
        assert result.returncode != 0
        assert "DEBUG='perhaps' is not a boolean" in result.stderr


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "terrafusion.example.org",
    "SECURE_HTTPS": "1",
    "METRICS_TOKEN": secrets.token_urlsafe(20),
}


def _deploy_check(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _deploy_check(PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_the_quick_start_secret_key():
    env = {**PRODUCTION, "SECRET_KEY": ""}
    result = _deploy_check(env)
    assert result.returncode != 0
    assert "terrafusion.E001" in result.stderr


@pytest.mark.django_db(databases=["default", "pacs"])  # the suite configures a PACS (terrafusion/testing/pacs.py)
class TestHealth:
    def test_live(self, client):
        assert client.get("/health/live").json() == {"status": "ok"}

    def test_ready_checks_database_redis_and_pacs(self, client):
        response = client.get("/health/ready")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "pacs": "ok"}}

    def test_ready_names_what_failed(self, client, settings):
        settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}  # nothing listens on port 1
        response = client.get("/health/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["failed"] == ["redis"] and body["checks"]["database"] == "ok"
        assert body["checks"]["redis"] == "error: ConnectionError"  # no host names or users on a public probe


@pytest.mark.django_db
def test_web_metrics_expose_http_and_db_figures_but_not_the_job_counters(client):
    client.get("/health/live")
    client.get("/health/ready")  # a query, for the database figures
    text = client.get("/metrics").content.decode()
    assert 'requests_total_by_view_transport_method_total{method="GET",transport="http",view="health-live"}' in text
    assert "django_db_execute_total" in text
    # Global figures come from `manage.py metrics_exporter` alone (terrafusion/tests/test_metrics.py):
    # on every web instance, sum() over instances would multiply them.
    assert "reporting_jobs_submitted_total" not in text and "rq_queue_jobs" not in text


@pytest.mark.django_db
def test_metrics_token_guards_metrics(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert response.status_code == 200 and b"django_http_requests" in response.content
    assert client.get("/metrics", HTTP_AUTHORIZATION="s3cret-scrape-token").status_code == 401  # Bearer or nothing


@pytest.mark.django_db
class TestOpenAPI:
    def test_schema_documents_endpoints_and_the_error_shape(self, client):
        response = client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.status_code == 200
        schema = response.json()
        paths = schema["paths"]
        expected = {
            "/api/v1/properties/",
            "/api/v1/properties/{id}/values/",
            "/api/v1/sales/",
            "/api/v1/reporting/jobs/",
            "/api/v1/reporting/jobs/{id}/results/",
            "/api/v1/auth/login",
        }
        assert expected <= paths.keys()
        assert "Error" in schema["components"]["schemas"]
        patch = paths["/api/v1/properties/{id}/"]["patch"]["responses"]
        assert {"400", "401", "403", "404"} <= patch.keys()
        assert patch["404"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"
        assert "409" in paths["/api/v1/reporting/jobs/{id}/results/"]["get"]["responses"]

    def test_swagger_ui_is_served_without_internet(self, client):
        page = client.get(reverse("swagger-ui")).content.decode()
        assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
        assert "cdn" not in page.lower()


@pytest.mark.django_db
def test_a_missing_object_is_404_in_the_error_shape(api_client, viewer):
    api_client.force_authenticate(viewer)
    response = api_client.get("/api/v1/properties/999999999/")
    assert response.status_code == 404
    assert response.json() == {"error": {"status": 404, "code": "not_found", "message": "Not found."}}


@pytest.mark.django_db
def test_unknown_api_urls_and_server_errors_use_the_error_shape(client, viewer):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"error": {"status": 404, "code": "not_found", "message": "Not found."}}
    assert client.get("/no-such-page/").headers["Content-Type"].startswith("text/html")

    from django.test import RequestFactory

    from terrafusion.api.exceptions import server_error

    crashed = server_error(RequestFactory().get("/api/v1/properties/"))
    assert crashed.status_code == 500
    assert json.loads(crashed.content)["error"]["code"] == "server_error"
