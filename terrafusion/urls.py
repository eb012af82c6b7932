"""URL routes: admin, API v1 (with auth), OpenAPI schema and docs, health and metrics."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import user_passes_test
from django.urls import URLPattern, include, path
from django_rq.urls import get_admin_urlpatterns, get_api_urlpatterns
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from terrafusion import auth, health
from terrafusion.api.routes import app_api_urlpatterns, job_kind_urlpatterns
from terrafusion.api.schema_view import CachedSpectacularAPIView
from terrafusion.metrics import metrics_view

_operators_only = user_passes_test(lambda user: user.is_active and user.is_superuser, login_url="admin:login")


def _rq_dashboard_urls() -> list[URLPattern]:
    """django-rq's dashboard and its JSON/stats views, every one for operators only."""
    api = [URLPattern(p.pattern, _operators_only(p.callback), p.default_args, p.name) for p in get_api_urlpatterns()]
    return api + get_admin_urlpatterns(view_wrapper=_operators_only)


api_v1 = [
    path("auth/login", auth.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", auth.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", auth.LogoutView.as_view(), name="auth-logout"),
    path("auth/me", auth.MeView.as_view(), name="auth-me"),
    *app_api_urlpatterns(),  # each app's own api/urls.py
    *job_kind_urlpatterns(),  # each declared job kind's /<kind>/jobs/ routes
]

urlpatterns = [
    # RQ's dashboard shows every county's queues and can delete or requeue jobs: platform operators
    # (superusers) only. County staff follow their own jobs in the job admin and the API.
    path("admin/rq/", include((_rq_dashboard_urls(), "django_rq"))),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    path("ogc/", include("gis_export.ogc.urls")),  # OGC API - Features: the parcels for GIS clients
    path("api-auth/", include("rest_framework.urls")),
    # One-time set-password links (setup_county prints them for new users).
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("api/schema/", CachedSpectacularAPIView.as_view(), name="schema"),  # built once per process
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics_view, name="prometheus-django-metrics"),
]

admin.site.site_header = "TerraFusion"
admin.site.site_title = "TerraFusion"
admin.site.index_title = "County data"

handler404 = "terrafusion.api.exceptions.not_found"
handler500 = "terrafusion.api.exceptions.server_error"
