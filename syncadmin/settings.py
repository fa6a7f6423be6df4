"""syncadmin settings: everything that differs between installs comes from the environment.

README.md ("Environment variables") documents every variable read here.
"""

import os
import re
import sys
from datetime import timedelta
from pathlib import Path

import bootstrap_wrapper
import dj_database_url

from syncadmin import __version__
from syncadmin.env import (
    env_bool,
    env_int,
    env_list,
    env_secret,
    fernet_keys,
    new_fernet_key,
    new_secret_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SYNCADMIN_VAR_DIR", BASE_DIR / "var"))
VERSION = __version__

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_secret(
    "SECRET_KEY",
    debug=DEBUG,
    local_file=VAR_DIR / "secret_key",
    make_value=new_secret_key,
)
FIELD_ENCRYPTION_KEYS = fernet_keys(
    "FIELD_ENCRYPTION_KEY",
    env_secret(
        "FIELD_ENCRYPTION_KEY",
        debug=DEBUG,
        local_file=VAR_DIR / "field_encryption_key",
        make_value=new_fernet_key,
    ),
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "The environment variable ALLOWED_HOSTS is required when DEBUG is off "
        "(comma-separated host names this server answers to)."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "apps.accounts.admin_site.SyncAdminAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "django_tables2",
    "django_filters",
    "django_q",
    "chartkick.django",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "apps.core",
    "apps.accounts",
    "apps.audit",
    "apps.sandbox",
    "apps.autotask",
    "apps.catalog",
    "apps.mappings",
    "apps.exports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "apps.audit.middleware.AuditRequestMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so it turns any locked-out sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "syncadmin.urls"
WSGI_APPLICATION = "syncadmin.wsgi.application"

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
                "apps.core.context_processors.layout",
            ],
        },
    },
]

# Database: DATABASE_URL, or a SQLite file under var/ for a local install.
DATABASE_URL = (
    os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{VAR_DIR / 'syncadmin.sqlite3'}"
)
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # The web server and the worker write to the same file: wait for locks, and
        # take the write lock at the start of a transaction so two writers never deadlock.
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so worker processes started by tests see the test database;
    # one per test run, so two runs never share (or delete) each other's.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles any query its planner thinks costly: for a screen's count
    # over 20,000 organizations it spent 0.5 s compiling a query that runs in 30 ms.
    # syncadmin's queries are short and indexed; none is worth compiling.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Broker and cache: Redis when REDIS_URL is set, otherwise the database. Test processes
# (pytest-xdist names each in PYTEST_XDIST_WORKER) share one Redis and one var/ folder
# with each other and with `make run`: each keeps its own keys and queue. Their child
# processes are given theirs in KEY_SPACE (tests/conftest.child_env).
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
KEY_SPACE = os.environ.get("KEY_SPACE", "").strip() or (
    ("syncadmin-test-" if "pytest" in sys.modules else "syncadmin")
    + os.environ.get("PYTEST_XDIST_WORKER", "")
)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": KEY_SPACE,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "syncadmin_cache",
        }
    }
# Live progress of long work (apps/core/progress.py). A worker reports it from inside the
# transaction of an all-or-nothing import, so it cannot live in the database: Redis when
# there is one (every host sees it), otherwise files under var/ (one host: `make run`).
CACHES["progress"] = (
    {**CACHES["default"], "TIMEOUT": 24 * 3600}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        # A folder per key space: the file cache culls (and clears) a whole folder.
        "LOCATION": str(VAR_DIR / "progress" / KEY_SPACE),
        "TIMEOUT": 24 * 3600,
        # Never culled: a third of the entries, dropped at random past MAX_ENTRIES, would
        # take live heartbeats and cancel requests with them. A run leaves a few small
        # entries; an expired one is deleted when it is next read.
        "OPTIONS": {"MAX_ENTRIES": 10**9},
    }
)

Q_CLUSTER = {
    "name": KEY_SPACE,
    "workers": env_int("WORKERS", 2),
    # A task may run for up to an hour; a task not acknowledged after `retry` seconds is
    # handed out again, so retry must stay above timeout or long tasks run twice.
    "timeout": 3600,
    "retry": 3660,
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 1000,
    "ack_failures": True,
    "label": "Worker tasks",
    "cache": "default",
}
# Runs handed to a worker beat every RUN_HEARTBEAT_SECONDS; one that has not beaten for
# RUN_STALE_SECONDS lost its worker: it is marked interrupted and started again by itself
# up to RUN_AUTO_RETRIES times (then a person retries it with one click).
RUN_HEARTBEAT_SECONDS = env_int("RUN_HEARTBEAT_SECONDS", 10)
RUN_STALE_SECONDS = env_int("RUN_STALE_SECONDS", 60)
RUN_AUTO_RETRIES = env_int("RUN_AUTO_RETRIES", 1)
# A request slot of a connection's concurrency limit (apps/autotask/limiter.py) taken by a
# process that died frees itself after this long.
AUTOTASK_SLOT_LEASE_SECONDS = env_int("AUTOTASK_SLOT_LEASE_SECONDS", 120)
# The first retry after a failed Autotask request waits about this long, doubling after.
AUTOTASK_BACKOFF_BASE_MS = env_int("AUTOTASK_BACKOFF_BASE_MS", 500)
# An export that meets Autotask's hourly request limit waits at most this long before it
# tries again (Autotask says nothing of when its rolling hour frees up).
EXPORT_HOURLY_WAIT_SECONDS = env_int("EXPORT_HOURLY_WAIT_SECONDS", 15 * 60)
# The daily export of the reports that are due (apps/exports/scheduling.py): HH:MM in
# TIME_ZONE. Only connections with "export on schedule" on are exported.
EXPORT_DAILY_AT = os.environ.get("EXPORT_DAILY_AT", "06:00").strip()
if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", EXPORT_DAILY_AT):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"EXPORT_DAILY_AT={EXPORT_DAILY_AT!r}: give the time of day as HH:MM, e.g. 06:00."
    )
# A real Autotask connection speaks HTTPS only. For local development and the test suite
# (DEBUG on) plain HTTP to this machine itself (127.0.0.1, localhost) is allowed too.
AUTOTASK_LOOPBACK_HTTP = env_bool("AUTOTASK_LOOPBACK_HTTP", default=DEBUG)
# The function that gives the billing screens' charts their default markups (record type
# → percent, or None): the catalog calls it and imports no later app (issue 10).
CATALOG_DEFAULT_MARKUPS = "apps.mappings.pricing.default_markups"

if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 1

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out user name or address before any password is
# checked (the standalone class, as RoleBackend already is a ModelBackend).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "apps.accounts.backends.RoleBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sign-in throttling (django-axes): SIGNIN_FAILURE_LIMIT failed sign-ins for one user name,
# or from one address, lock that name or address out until SIGNIN_LOCKOUT_MINUTES have
# passed without another failure. README.md, "Security", says how to unlock.
SIGNIN_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5)
SIGNIN_LOCKOUT_MINUTES = env_int("SIGNIN_LOCKOUT_MINUTES", 15)
if SIGNIN_FAILURE_LIMIT < 1 or SIGNIN_LOCKOUT_MINUTES < 1:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SIGNIN_FAILURE_LIMIT and SIGNIN_LOCKOUT_MINUTES must be 1 or more.")
# The client address: REMOTE_ADDR, or with TRUST_X_FORWARDED_FOR the address the proxy in
# front of syncadmin added last to X-Forwarded-For (apps.accounts.signin.client_ip_address).
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", default=False)
AXES_ENABLED = True
AXES_FAILURE_LIMIT = SIGNIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=SIGNIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "apps.accounts.signin.client_ip_address"
AXES_LOCKOUT_CALLABLE = "apps.accounts.signin.lockout_response"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# Sign-ins and sign-outs are in the audit log; axes keeps only the failure counts.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
# No start-up banner in every process's output; failures are still logged as warnings.
AXES_VERBOSE = False

# Second factor (django-otp, TOTP). With SECOND_FACTOR_REQUIRED an Administrator changes
# connections and users (the Django admin) only after confirming a code in that session.
SECOND_FACTOR_REQUIRED = env_bool("SECOND_FACTOR_REQUIRED", default=not DEBUG)
OTP_TOTP_ISSUER = "syncadmin"
# The Django admin's TOTP device pages show neither keys nor QR codes: only the owner sees
# their secret, once, while enrolling.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("bootstrap", bootstrap_wrapper.get_bootstrap_dir()),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"
if DEBUG:
    # Local use serves static files from the apps and packages; the folder only keeps
    # whitenoise from warning that it is missing.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

# HTTPS: on by default in production. Turn off only behind a trusted private network.
HTTPS_ONLY = env_bool("HTTPS_ONLY", default=not DEBUG)
if env_bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS_ONLY
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): only the app's own scripts, styles, images and
# fonts, no inline script or style, no eval. Templates keep behaviour in static/js and looks
# in static/css; img-src allows data: for the SVG icons inside Bootstrap's CSS (form
# controls, the close button). tests/test_csp.py holds the exact header.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django_q": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}
