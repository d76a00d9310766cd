"""Duban's one settings module. Every value comes from an environment variable,
parsed strictly (see duban/env.py); docs/configuration.md lists them all."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from duban.env import (
    env_bool,
    env_choice,
    env_date,
    env_int,
    env_list,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(
    env_str(
        "DUBAN_VAR_DIR",
        str(BASE_DIR / "var"),
        "Directory for the SQLite database, uploads and collected static files.",
    )
)

DEBUG = env_bool(
    "DUBAN_DEBUG", False, "Development mode: detailed error pages, a built-in secret key."
)

SECRET_KEY = env_str(
    "DUBAN_SECRET_KEY",
    None,
    "Secret for signing sessions and tokens; required unless DUBAN_DEBUG is on.",
)
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured("DUBAN_SECRET_KEY must be set when DUBAN_DEBUG is off")
    SECRET_KEY = "duban-development-only-key-not-for-production-use-0123456789"

ALLOWED_HOSTS = env_list(
    "DUBAN_ALLOWED_HOSTS",
    ["127.0.0.1", "localhost", "[::1]"],
    "Comma-separated host names the site answers to.",
)
CSRF_TRUSTED_ORIGINS = env_list(
    "DUBAN_CSRF_TRUSTED_ORIGINS",
    [],
    "Comma-separated origins (https://duban.example.gov.cn) allowed to POST through a proxy.",
)

# The clock can be pinned for the whole process (demo, tests): see duban/clock.py.
AS_OF = env_date("DUBAN_AS_OF", "Pin 'today' to this date (YYYY-MM-DD) for the whole process.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "duban.core",
    "duban.accounts",
    "duban.audit",
    "duban.plans",
    "duban.projects",
    "duban.cases",
    "duban.cockpit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "duban.core.middleware.LocaleMiddleware",  # Django's, cheaper: see there
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "duban.accounts.middleware.OperatorScopeMiddleware",
    "duban.core.middleware.MessageMiddleware",  # Django's, cheaper: see there
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "duban.core.middleware.AsOfMiddleware",
]

ROOT_URLCONF = "duban.urls"
WSGI_APPLICATION = "duban.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "duban.core.context_processors.duban",
            ],
        },
    },
]

# Persistent connections were the biggest single win measured here
# (../shared/spec/performance-notes.md).
_conn_max_age = env_int(
    "DUBAN_CONN_MAX_AGE",
    -1,
    "Seconds to keep a database connection; -1 keeps it for the life of the worker, 0 closes it after each request.",
    minimum=-1,
)
_database_url = env_str(
    "DATABASE_URL",
    None,
    "postgres://user:password@host:5432/name for PostgreSQL; unset for the embedded SQLite under DUBAN_VAR_DIR.",
)
if _database_url:
    _default_db = parse_database_url(_database_url)
else:
    # The embedded database works out of the box: its directory is made on first use.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _default_db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "duban.sqlite3")}
if _default_db["ENGINE"].endswith("sqlite3"):
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN
    # so that concurrent writers queue on the busy timeout instead of failing on upgrade.
    _default_db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
# The intake's plain statements (duban.core.sql: run and the batches): parsed and planned by
# PostgreSQL once per connection instead of on every call (parsing, analysing and planning
# took some 40 % of the server's time per intake). core.sql prepares them itself (PREPARE,
# then EXECUTE). Django leaves prepared statements off, for poolers in transaction mode,
# which do not keep a session's statements. psycopg's own preparing stays off (Django's
# threshold None): psycopg deallocates every statement of a session at a rollback once it
# has prepared one of its own.
DB_PREPARE = env_bool(
    "DUBAN_DB_PREPARE",
    True,
    "PostgreSQL: keep the intake's statements prepared (turn off behind any pooler in transaction mode, PgBouncer included).",
)
_default_db["CONN_MAX_AGE"] = None if _conn_max_age == -1 else _conn_max_age
_default_db["CONN_HEALTH_CHECKS"] = True
_default_db["TEST"] = {"NAME": None}
DATABASES = {"default": _default_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared by every worker and host: nothing lives in process memory.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "duban_cache",
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_FAILURE_LIMIT = env_int(
    "DUBAN_LOGIN_FAILURE_LIMIT",
    5,
    "Failed logins allowed per user name or address within the window before logins are refused.",
    minimum=1,
)
LOGIN_FAILURE_WINDOW = env_int(
    "DUBAN_LOGIN_FAILURE_WINDOW", 900, "Seconds a failed login counts towards the limit.", minimum=1
)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "duban" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "duban.core.staticfinders.PlotlyFinder",
]
WHITENOISE_USE_FINDERS = DEBUG

MEDIA_ROOT = Path(
    env_str(
        "DUBAN_MEDIA_ROOT",
        str(VAR_DIR / "uploads"),
        "Where uploaded files are stored (outside the code tree).",
    )
)
UPLOAD_MAX_BYTES = env_int(
    "DUBAN_UPLOAD_MAX_BYTES", 10 * 1024 * 1024, "Largest accepted upload, in bytes.", minimum=1024
)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

EMAIL_BACKEND = env_str(
    "DUBAN_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend",
    "Django e-mail backend (console by default; smtp for production).",
)
EMAIL_HOST = env_str("DUBAN_EMAIL_HOST", "localhost", "SMTP host.")
EMAIL_PORT = env_int("DUBAN_EMAIL_PORT", 25, "SMTP port.", minimum=1)
DEFAULT_FROM_EMAIL = env_str(
    "DUBAN_FROM_EMAIL", "duban@localhost", "Sender address of Duban's e-mails."
)

# Behind a TLS-terminating proxy the cookies must never travel in clear.
_secure = not DEBUG
SESSION_COOKIE_SECURE = env_bool(
    "DUBAN_SECURE_COOKIES",
    _secure,
    "Send session and CSRF cookies over HTTPS only (on by default outside debug).",
)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool(
    "DUBAN_SSL_REDIRECT", _secure, "Redirect plain HTTP to HTTPS (on by default outside debug)."
)
SECURE_HSTS_SECONDS = env_int(
    "DUBAN_HSTS_SECONDS",
    0 if DEBUG else 31536000,
    "Strict-Transport-Security max-age in seconds.",
    minimum=0,
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice(
            "DUBAN_LOG_LEVEL",
            "WARNING",
            ("DEBUG", "INFO", "WARNING", "ERROR"),
            "Log level: DEBUG, INFO, WARNING or ERROR.",
        ),
    },
}

SILENCED_SYSTEM_CHECKS: list[str] = []

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}
