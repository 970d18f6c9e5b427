"""Settings for the MCP server.

Everything an operator sets comes from the environment (see README, "Configuration").
With nothing set and ``DJANGO_DEBUG=1`` the server runs on its embedded default: SQLite in
the checkout, no Redis. Outside debug mode a missing secret is a system check error
(``mcpserver.E00x``), reported before the server accepts a request.
"""

import secrets
from pathlib import Path
from typing import Any

import dj_database_url

from mcpserver.env import env_bool, env_list, env_str
from mcpserver.logging_config import logging_settings
from sessions_store.cache_config import channel_layers, shared_caches
from tenants.oauth.provider_settings import broker_provider_settings

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)

# A missing key outside debug mode is reported by check mcpserver.E002; the random stand-in
# only keeps Django from failing before that check can speak.
SECRET_KEY_FROM_ENV = bool(env_str("DJANGO_SECRET_KEY"))
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or (
    "django-insecure-development-only-key-do-not-use-in-production"
    if DEBUG
    else secrets.token_urlsafe(50)
)

# Rotating the secret key without logging admins out: the old key here until sessions made
# with it have expired (docs/deploy.md, "Rotating keys").
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "daphne",
    "mcpserver.admin_site.McpAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    # The broker's authorization-server core (tenants.oauth wraps its views per tenant).
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "mcpserver",
    "sessions_store",
    "tenants",
    "tools",
    "tools.workspace",
]

MIDDLEWARE = [
    "mcpserver.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # CSP on the portal and API pages, throttled admin password sign-in.
    "tenants.portal.security.PageSecurityMiddleware",
]

ROOT_URLCONF = "mcpserver.urls"
ASGI_APPLICATION = "mcpserver.asgi.application"

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
            ],
        },
    },
]

# Database: DATABASE_URL, defaulting to a SQLite file in the checkout.
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        # Kept from call to call (database_sync_to_async closes it once older), checked before
        # reuse so that one a restarted database broke is replaced, not failed on: a connect
        # and a login per call were a sixth of a workspace read's CPU on PostgreSQL. Not a
        # pool: its wait for a free connection stalled every call during an outage (README).
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and immediate transactions let several local processes share the file without
    # "database is locked" errors under concurrent writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable server fails the connection within seconds, not after the kernel's
    # minutes of TCP retries: requests that need the database wait at most this long for 503.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: optional. Unset, the embedded default keeps shared state in the database.
REDIS_URL = env_str("REDIS_URL")

CACHES = shared_caches(REDIS_URL)
CHANNEL_LAYERS = channel_layers(REDIS_URL)

# Celery: the broker defaults to REDIS_URL; with neither, tasks run inline (embedded default)
# and the same jobs run from management commands on a schedule (README, "Background jobs").
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not (env_str("CELERY_BROKER_URL") or REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# A job is acknowledged only once it has run: a worker killed mid-job (SIGKILL, OOM, a node
# lost) leaves it to be delivered again, and every task is idempotent for that reason.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# No job runs away: soft limit (the task may clean up), then the child is killed.
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
# An unacknowledged job (its worker died) is delivered again after this many seconds; it must
# stay above the longest time limit, or a slow job would be handed to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(env_str("CELERY_VISIBILITY_TIMEOUT", "3600")),
    # Each worker looks for such jobs every 10 s (kombu's default looks only every 100 s,
    # so a job whose worker died could wait that much longer): one ZRANGE per look.
    "unacked_restore_throttle": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = env_str(
    "CELERY_BEAT_SCHEDULE_FILENAME", str(BASE_DIR / ".tmp" / "celerybeat-schedule")
)
# Keep every identity provider's signing keys warm in the shared store (tenants.auth.jwks),
# say when one could not be refreshed for its whole cache lifetime, drop expired shared state,
# move tool-call records to the database and trim audit rows past each tenant's retention.
CELERY_BEAT_SCHEDULE = {
    "refresh-jwks": {"task": "tenants.refresh_jwks", "schedule": 3600.0},
    "check-jwks": {"task": "tenants.check_jwks", "schedule": 900.0},
    "purge-sessions": {"task": "sessions_store.purge_sessions", "schedule": 600.0},
    "drain-audit": {"task": "tenants.drain_audit", "schedule": 60.0},
    "audit-retention": {"task": "tenants.apply_audit_retention", "schedule": 86400.0},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
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
# Serve admin assets straight from the apps when no collectstatic has run (make run).
WHITENOISE_USE_FINDERS = DEBUG

# Security headers and cookies. TLS is terminated in front of the server in production, by a
# proxy that sets X-Forwarded-Proto; `manage.py check --deploy` is clean with these defaults.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Secure cookies, the https redirect and HSTS follow the public URL: a deployment served over
# https (what `check --deploy` expects) gets them; a loopback server on plain http does not.
# Each can be set outright from the environment.
_PUBLIC_HTTPS = env_str("MCP_PUBLIC_URL", "").startswith("https://") and not DEBUG
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=_PUBLIC_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Lax: sent on the top-level redirect back from an identity provider, never on cross-site posts.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# Plain-http requests to Django's pages redirected to https when the public URL is https
# (DJANGO_SECURE_SSL_REDIRECT decides outright); the orchestrator's probes come over plain
# http and are exempt.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=_PUBLIC_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Browsers remember to use https only: a year, subdomains included, once it is switched on.
SECURE_HSTS_SECONDS = int(env_str("DJANGO_HSTS_SECONDS", "31536000" if _PUBLIC_HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=False)
# check --deploy warns about a preload-less HSTS; preloading is a decision for the domain's
# owner (it cannot be undone quickly), so it stays off unless asked for.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Who may sign in: staff through the staff OpenID provider when it is configured (password
# login otherwise), end users through their tenant's provider (tenants.portal.backends).
STAFF_OIDC_ISSUER = env_str("MCP_STAFF_OIDC_ISSUER")
AUTHENTICATION_BACKENDS = [
    *([] if STAFF_OIDC_ISSUER else ["django.contrib.auth.backends.ModelBackend"]),
    "tenants.portal.backends.StaffBackend",
    "tenants.portal.backends.TenantBackend",
]
LOGIN_URL = "admin:login"

# django-oauth-toolkit, the core of each broker-mode tenant's authorization server
# (tenants.oauth). Its views are reached only through tenants.oauth.views, which pin the
# tenant; everything the library stores (clients, codes, tokens) is in the database.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 (a model name)
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105 (a model name)
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105 (a model name)
_BROKER_TTL = int(env_str("MCP_BROKER_ACCESS_TOKEN_TTL", "300") or 300)
OAUTH2_PROVIDER = broker_provider_settings(access_token_ttl=_BROKER_TTL)
SILENCED_SYSTEM_CHECKS += [
    # RFC 9207 iss is added by tenants.oauth.views (the tenant's own issuer), not the library.
    "oauth2_provider.W005",
    # Native MCP clients redirect to http://127.0.0.1/localhost loopback URIs (RFC 8252).
    "oauth2_provider.W008",
]

# The REST API (tenants.api): session or Bearer authentication, one error shape, pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api.authentication.BearerAuthentication",
        "tenants.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "tenants.api.pagination.Pages",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "tenants.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "tenants.api.schema.ApiSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MCP server API",
    "DESCRIPTION": "Tenants, identity providers, tool enablement, API keys, members and the "
    "audit log. Every change is audited like the same change made in admin.",
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# The project's own tunables; read them through mcpserver.conf.mcp_settings.
MCP_SERVER: dict[str, Any] = {
    "PUBLIC_URL": env_str("MCP_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
    "ENCRYPTION_KEYS": env_list("MCP_ENCRYPTION_KEYS"),
    "ALLOWED_ORIGINS": env_list("MCP_ALLOWED_ORIGINS"),
    # /metrics: loopback callers, these networks, or this Bearer token (README, "Metrics").
    "METRICS_ALLOW": env_list("MCP_METRICS_ALLOW"),
    "METRICS_TOKEN": env_str("MCP_METRICS_TOKEN") or None,
    "STAFF_OIDC_ISSUER": STAFF_OIDC_ISSUER,
    "STAFF_OIDC_CLIENT_ID": env_str("MCP_STAFF_OIDC_CLIENT_ID"),
    "STAFF_OIDC_CLIENT_SECRET": env_str("MCP_STAFF_OIDC_CLIENT_SECRET"),
    "STAFF_OIDC_ALLOW_PRIVATE_NETWORK": env_bool("MCP_STAFF_OIDC_ALLOW_PRIVATE", default=False),
    "STAFF_OIDC_SCOPES": env_str("MCP_STAFF_OIDC_SCOPES", "openid email profile"),
    "STAFF_OIDC_CLAIM": env_str("MCP_STAFF_OIDC_CLAIM"),
    "STAFF_OIDC_CLAIM_VALUE": env_str("MCP_STAFF_OIDC_CLAIM_VALUE"),
    "STAFF_OIDC_ALLOWED_EMAILS": env_list("MCP_STAFF_OIDC_ALLOWED_EMAILS"),
    # The broker's access-token lifetime, one value for both (OAUTH2_PROVIDER above).
    "BROKER_ACCESS_TOKEN_TTL": _BROKER_TTL,
    # Off where a process of its own runs ``drain_audit --follow`` (the manifests do).
    "AUDIT_DRAIN_IN_PROCESS": env_bool("MCP_AUDIT_DRAIN_IN_PROCESS", default=True),
}
# Test deployments only (the conformance runs): let tenants enable internal fixture tool sets.
if env_bool("MCP_ALLOW_INTERNAL_TOOLSETS", default=False):
    MCP_SERVER["ALLOW_INTERNAL_TOOLSETS"] = True

# Logging: LOG_LEVEL and LOG_FORMAT (json for machines, console for people).
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOG_FORMAT = env_str("LOG_FORMAT", "console" if DEBUG else "json").lower()

LOGGING = logging_settings(level=LOG_LEVEL, fmt=LOG_FORMAT)
