"""Django's ``LOGGING`` for this server (imported by settings: no Django here).

One handler on stderr, JSON for machines or console lines for people; every record carries
the request id, tenant and principal, and both formatters redact anything shaped like a
credential (``mcpserver.logging``).
"""

from typing import Any


def logging_settings(*, level: str, fmt: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_context": {"()": "mcpserver.logging.RequestContextFilter"},
            "sql_params": {"()": "mcpserver.logging.SqlParamsFilter"},
        },
        "formatters": {
            "json": {
                "()": "mcpserver.logging.RedactingJsonFormatter",
                "fmt": (
                    "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(tenant)s"
                    " %(principal)s"
                ),
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
            "console": {
                "()": "mcpserver.logging.RedactingFormatter",
                "fmt": (
                    "%(asctime)s %(levelname)-7s %(name)s"
                    " [%(request_id)s %(tenant)s %(principal)s] %(message)s"
                ),
            },
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "json" if fmt == "json" else "console",
                "filters": ["request_context"],
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "django": {"handlers": ["default"], "level": level, "propagate": False},
            # Access lines carry nothing the audit log and metrics do not; keep them at WARNING.
            "django.channels.server": {"level": "WARNING"},
            # The HTTP client logs every request's full URL at INFO, query string included
            # (where an upstream API may carry a secret); tenants.outbound logs what it needs.
            "httpx2": {"level": "WARNING"},
            "httpcore2": {"level": "WARNING"},
            # At DEBUG the template engine logs failed variable lookups with the whole
            # context, which on the "API key created" page holds the raw key: never below INFO.
            "django.template": {"level": "INFO"},
            # At DEBUG every statement is logged: its shape only, never a value (a digest, a
            # sealed secret, a user's input).
            "django.db.backends": {"filters": ["sql_params"]},
        },
    }
