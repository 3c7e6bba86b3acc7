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
    "django_celery_beat",
    "alert24",
    "accounts",
    "incidents",
    "monitoring",
    "statuspages",
]

MIDDLEWARE = [
    "alert24.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "alert24.tenancy.OrganizationMiddleware",
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
# Queues the all-in-one worker of `make run` consumes; production runs a worker per group.
CELERY_WORKER_QUEUES = env.list("CELERY_WORKER_QUEUES", default=["default", NOTIFICATIONS_QUEUE])
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Logging -----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"pgserver": {"level": "WARNING"}},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
