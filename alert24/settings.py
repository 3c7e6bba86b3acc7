"""Settings, all from the environment (django-environ); see ``.env.example`` for each variable.

With no ``DATABASE_URL`` / ``REDIS_URL`` the embedded PostgreSQL and Redis are used (see
``alert24.embedded``), which is what ``make run`` and ``make test`` rely on.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
TESTING = "pytest" in sys.modules or env.bool("ALERT24_TESTING", default=False)


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=False.")
    # Development: a random key kept in the git-ignored data folder, never one from the repo.
    from alert24.embedded import data_dir

    path = data_dir() / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- Embedded services -------------------------------------------------------------------
_EMBEDDED = {}
if not env.str("DATABASE_URL", default="") or not env.str("REDIS_URL", default=""):
    from alert24.embedded import ensure_services

    _EMBEDDED = ensure_services(
        want_postgres=not env.str("DATABASE_URL", default=""),
        want_redis=not env.str("REDIS_URL", default=""),
    )

DATABASE_URL = env.str("DATABASE_URL", default="") or _EMBEDDED["postgres"]
REDIS_URL = env.str("REDIS_URL", default="") or _EMBEDDED["redis"]
EMBEDDED_SERVICES = sorted(_EMBEDDED)

_db = environ.Env.db_url_config(DATABASE_URL)
if not _db.get("HOST") and _db.get("OPTIONS", {}).get("host"):
    # A Unix-socket URL (postgres://user@/db?host=/path): dbshell reads HOST, not OPTIONS.
    _db["HOST"] = _db["OPTIONS"].pop("host")
_db.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
_db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The non-owner role every web/API transaction runs as, so row-level security applies.
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", default="alert24_app")

# --- Applications ------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as static files (no CDN)
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "nested_admin",  # nested inlines on the policy and schedule admin pages
    "alert24",
    "accounts",
    "incidents",
    "monitoring",
    "statuspages",
    "webhooks",
]

MIDDLEWARE = [
    "alert24.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Events API / Alertmanager posts: the key is the credential; answered before the
    # session/auth/tenancy stack (incidents/events_views.py explains why that is safe).
    "incidents.events_views.EventsFastPathMiddleware",
    # Anonymous readers of public status pages: served from the render cache, skipping the
    # session/auth/tenancy stack (statuspages/middleware.py explains why that is safe).
    "statuspages.middleware.StatusPageFastPathMiddleware",
    # /static/ (collected by `manage.py collectstatic`) served by the web process itself.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Serves status pages at their custom domains (statuspages/middleware.py); such hosts
    # must also be in ALLOWED_HOSTS.
    "statuspages.middleware.CustomDomainMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # django-otp's OTPMiddleware, plus: a user with 2FA is anonymous until the code step.
    "accounts.two_factor.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "alert24.tenancy.OrganizationMiddleware",
    "accounts.two_factor.RequireTwoFactorMiddleware",  # organizations that require 2FA
]

ROOT_URLCONF = "alert24.urls"
WSGI_APPLICATION = "alert24.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "alert24.tenancy.organization_context",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
OTP_TOTP_ISSUER = "Alert24"  # shown by authenticator apps next to the account's e-mail

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / ".data" / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Security (production values whenever DEBUG is off) ----------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- E-mail ------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Alert24 <alerts@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Third-party providers (optional; unconfigured channels are recorded as skipped) -----
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
PUSHER_APP_ID = env.str("PUSHER_APP_ID", default="")
PUSHER_KEY = env.str("PUSHER_KEY", default="")
PUSHER_SECRET = env.str("PUSHER_SECRET", default="")
PUSHER_CLUSTER = env.str("PUSHER_CLUSTER", default="mt1")
# A Pusher-compatible server instead of the cluster's (self-hosted Soketi, or a test stand-in).
PUSHER_HOST = env.str("PUSHER_HOST", default="")
PUSHER_PORT = env.int("PUSHER_PORT", default=0) or None
PUSHER_SSL = env.bool("PUSHER_SSL", default=True)
# Seconds between the responder pages' polls when Pusher is not configured.
LIVE_POLL_SECONDS = env.int("LIVE_POLL_SECONDS", default=5)
# Notification channels (incidents.channels): seconds per network phase of one delivery;
# whether webhook/Slack/Teams/Apprise targets may be private/loopback addresses (self-hosted
# receivers); and a Twilio API base URL for a local stand-in (tests only, unset in production).
NOTIFICATION_HTTP_TIMEOUT = env.float("NOTIFICATION_HTTP_TIMEOUT", default=10.0)
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")

# --- Monitoring --------------------------------------------------------------------------
# Whether checks may probe private/loopback/link-local addresses. Off in production (an
# uptime checker is otherwise an SSRF tool); on in the embedded development set-up, whose
# demo monitors probe the app itself on 127.0.0.1. Tests turn it on where they need it.
MONITORING_ALLOW_PRIVATE_TARGETS = env.bool(
    "MONITORING_ALLOW_PRIVATE_TARGETS", default=DEBUG and not TESTING
)
# Queues of the seeded monitoring locations (monitoring_locations.queue), for the worker.
MONITORING_LOCATION_QUEUES = env.list(
    "MONITORING_LOCATION_QUEUES", default=["checks.us-east", "checks.eu-west", "checks.ap-south"]
)
# A PEM bundle of extra CAs that SSL/HTTPS checks trust besides the system store (a private
# PKI; `make run` points it at its local demo CA). Chains to neither stay "untrusted".
MONITORING_EXTRA_CA_FILE = env.str("MONITORING_EXTRA_CA_FILE", default="")
# Checks one worker process runs at once (asyncio), per batch.
MONITORING_CHECK_CONCURRENCY = env.int("MONITORING_CHECK_CONCURRENCY", default=100)


# --- Retention (days; cleanup_old_data() runs every 10 minutes) -------------------------
RETENTION_CHECK_RESULTS_DAYS = env.int("RETENTION_CHECK_RESULTS_DAYS", default=30)
RETENTION_NOTIFICATION_HISTORY_DAYS = env.int("RETENTION_NOTIFICATION_HISTORY_DAYS", default=90)
RETENTION_ACTIVITY_LOG_DAYS = env.int("RETENTION_ACTIVITY_LOG_DAYS", default=180)
RETENTION_UPTIME_DAYS = env.int("RETENTION_UPTIME_DAYS", default=365)


# --- Celery ------------------------------------------------------------------------------
def _celery_url(url: str) -> str:
    # redis-py spells a socket unix://path; kombu and Celery spell it redis+socket://path.
    return "redis+socket://" + url.removeprefix("unix://") if url.startswith("unix://") else url


CELERY_BROKER_URL = _celery_url(REDIS_URL)
CELERY_RESULT_BACKEND = _celery_url(REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
# Pages have a queue of their own so checks can never starve them.
NOTIFICATIONS_QUEUE = env.str("NOTIFICATIONS_QUEUE", default="notifications")
# Queues the all-in-one worker of `make run` consumes; production runs a worker per group
# (one per monitoring location, consuming only that location's checks.<code> queue).
CELERY_WORKER_QUEUES = env.list(
    "CELERY_WORKER_QUEUES",
    default=["default", NOTIFICATIONS_QUEUE, *MONITORING_LOCATION_QUEUES],
)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Cache (Redis): rendered status pages keyed by page version, rate limits ------------
# redis-py (behind Django's RedisCache) accepts REDIS_URL as is, unix:// sockets included.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "alert24",
    }
}

# --- Logging -----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"pgserver": {"level": "WARNING"}},
}

# --- REST API and events (alert24/api_urls.py) ----------------------------------------
# Authentication: organization API keys (Authorization: Bearer a24_…) or the browser
# session. Rate limits are per key (or per signed-in user), and per routing key for events;
# they are counted in Redis and skipped while Redis is unreachable.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api.permissions.OrganizationPermission"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api": env.str("API_RATE_LIMIT", default="600/min"),
        "events": env.str("EVENTS_RATE_LIMIT", default="12000/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "accounts.api.pagination.ApiCursorPagination",
    "DEFAULT_FILTER_BACKENDS": [],
    "DEFAULT_SCHEMA_CLASS": "accounts.api.errors.ApiAutoSchema",
    "EXCEPTION_HANDLER": "accounts.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Alert24 API",
    "DESCRIPTION": (
        "Incidents, services, escalation policies, on-call schedules, users and teams, "
        "monitoring checks (results, statistics) and status pages (components, incidents, "
        "maintenance, subscribers) of one organization. Authenticate with an organization "
        "API key: `Authorization: Bearer a24_…` (read-only keys may only GET). Lists use "
        "cursor pagination (`limit`, `cursor`). "
        'Errors are `{"error": {"code", "message", "fields"}}`. Events are sent to the '
        "PagerDuty-compatible `/v2/enqueue` (not part of this schema)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.Incident.Status",
        "SeverityEnum": "incidents.models.Severity",
        "UrgencyEnum": "incidents.models.Urgency",
        "RoleEnum": "accounts.roles.Role",
        "CheckResultStatusEnum": "monitoring.api.filters.RESULT_STATUSES",
        "ComponentStatusEnum": "statuspages.models.ComponentStatus",
        "StatusPageIncidentStatusEnum": "statuspages.models.IncidentStatus",
        "MaintenanceStatusEnum": "statuspages.models.MaintenanceStatus",
        "ImpactEnum": "statuspages.models.Impact",
        "MaintenanceImpactEnum": "statuspages.rest.filters.MAINTENANCE_IMPACTS",
    },
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # The docs pages load Swagger UI and Redoc from our static files (pinned by the
    # drf-spectacular-sidecar release), so they work offline; no online validator badge.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SERVE_AUTHENTICATION": [],
}
