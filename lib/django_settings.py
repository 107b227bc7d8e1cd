"""Django settings, derived entirely from `lib.conf.config` (the environment)."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from lib.conf import DEV_SECRET_KEY, REPO_ROOT, config, notification_config

if config.is_production and config.secret_key == DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in production")

DEBUG = config.debug
SECRET_KEY = config.secret_key
ALLOWED_HOSTS = config.allowed_hosts

INSTALLED_APPS = [
    "lib.access.admin_apps.ZestAdminConfig",  # django.contrib.admin with the store's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "db",
]
MIGRATION_MODULES = {"db": "migrations"}
AUTH_USER_MODEL = "db.User"
# Password sign-in by email; admin permissions follow the user's role (no per-user rows).
AUTHENTICATION_BACKENDS = ["lib.access.admin_backend.RoleBackend"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The API functions run a lean pipeline (see lib.runtime); the admin function adds the
# session, CSRF, auth and message middleware it needs on top of this list.
MIDDLEWARE = [
    "lib.middleware.RequestIdMiddleware",
    "lib.middleware.SecurityHeadersMiddleware",
    "lib.middleware.JsonErrorMiddleware",
    "lib.middleware.RequestGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    # geo gate -> API key -> rate limit; the JWT user and RBAC follow as route auth (Require)
    "lib.access.middleware.AccessMiddleware",
]
ADMIN_MIDDLEWARE = [
    "lib.middleware.RequestIdMiddleware",
    "lib.middleware.SecurityHeadersMiddleware",
    "lib.middleware.RequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# The admin checks look at MIDDLEWARE only; the admin function runs ADMIN_MIDDLEWARE.
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]
ROOT_URLCONF = "lib.urls"
APPEND_SLASH = False  # Vercel cron does not follow redirects; API paths are exact.

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Email templates (lib/notifications/templates/email/).
        "DIRS": [str(Path(__file__).resolve().parent / "notifications" / "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]


def database_settings() -> dict:
    db = dj_database_url.parse(config.database_url, conn_max_age=0)
    if db["ENGINE"] == "django.db.backends.postgresql":
        db["OPTIONS"] = {
            # psycopg 3 pool: small per serverless instance; CONN_MAX_AGE must stay 0.
            "pool": {
                "min_size": config.database_pool_min,
                "max_size": config.database_pool_max,
                "timeout": config.database_pool_timeout,
            },
        }
        # Behind a transaction-mode pooler (Neon "-pooler" host, Supabase port 6543) a
        # cursor cannot outlive its transaction. Django already disables prepared
        # statements for psycopg 3.
        db["DISABLE_SERVER_SIDE_CURSORS"] = config.database_transaction_pooler
    else:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        # The dev server is threaded and providers call back concurrently (SSLCommerz' IPN
        # races the payer's return): transactions take the write lock when they begin, so
        # writers queue for `timeout` seconds instead of failing with "database is locked".
        db.setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
    return db


DATABASES = {"default": database_settings()}

# Vercel Blob when a token is configured, local files (served by `zest dev`) otherwise.
if not config.blob_token:
    config.media_root.mkdir(parents=True, exist_ok=True)
DEFAULT_STORAGE = (
    {"BACKEND": "lib.storage.VercelBlobStorage"}
    if config.blob_token
    else {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(config.media_root), "base_url": config.media_url},
    }
)
# Static files (the admin's): the deploy build collects them into STATIC_ROOT with
# fingerprinted names and a manifest (`python -m lib.access.admin_static`); once that manifest
# exists they are served from there, hashed names cached for a year. Without it (development)
# they are served under their plain names from the apps' own folders.
STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT") or str(REPO_ROOT / "staticfiles")
STATIC_MANIFEST = Path(STATIC_ROOT) / "staticfiles.json"
STATIC_FINGERPRINTED = STATIC_MANIFEST.exists()
if not STATIC_FINGERPRINTED:
    with suppress(OSError):  # WhiteNoise warns about a missing folder
        Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
        if STATIC_FINGERPRINTED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = config.media_url
MEDIA_ROOT = str(config.media_root)
WHITENOISE_USE_FINDERS = not STATIC_FINGERPRINTED
WHITENOISE_AUTOREFRESH = False
WHITENOISE_MAX_AGE = 60 * 60  # unhashed names; hashed ones are cached for good

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("bn", "Bangla")]
USE_I18N = True
USE_TZ = True
TIME_ZONE = config.time_zone  # shown in Asia/Dhaka; stored as UTC

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Strength rules for new passwords (lib.access.passwords renders their messages in English
# or Bangla from each rule's error code).
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = config.on_vercel
CSRF_COOKIE_SECURE = config.on_vercel
# Admin sessions: not readable by scripts, sent on same-site requests only, 8 hours long.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 60 * 60
CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in config.allowed_hosts if host != "*"]
DATA_UPLOAD_MAX_MEMORY_SIZE = 4_500_000  # Vercel caps request bodies at 4.5 MB

# Email: printed to the console locally; an SMTP relay or provider in production.
EMAIL_BACKEND = config.email_backend
EMAIL_HOST = config.email_host
EMAIL_PORT = config.email_port
EMAIL_HOST_USER = config.email_host_user
EMAIL_HOST_PASSWORD = config.email_host_password
EMAIL_USE_TLS = config.email_use_tls
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = config.default_from_email
# A transactional email API through django-anymail, chosen by EMAIL_PROVIDER.
EMAIL_PROVIDERS = frozenset({"resend", "postmark", "sendgrid", "mailgun", "amazon_ses", "brevo"})
if notification_config.email_provider:
    if notification_config.email_provider not in EMAIL_PROVIDERS:
        raise ImproperlyConfigured(f"EMAIL_PROVIDER must be one of {sorted(EMAIL_PROVIDERS)}")
    EMAIL_BACKEND = f"anymail.backends.{notification_config.email_provider}.EmailBackend"
    ANYMAIL = dict(notification_config.anymail)

NINJA_PAGINATION_PER_PAGE = 20
NINJA_PAGINATION_MAX_LIMIT = 100

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO" if DEBUG else "WARNING"},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "httpx": {"level": "WARNING"},  # the KV client would log every REST call at INFO
    },
}
