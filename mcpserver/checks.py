"""System checks: misconfiguration fails at start, not on the first request.

``manage.py`` commands run them, and ``mcpserver.asgi`` runs the ``mcpserver`` tag before the
server accepts a connection, so a production server without its secrets refuses to start.
"""

import ipaddress
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.checks import Warning as CheckWarning

from mcpserver.conf import mcp_settings
from mcpserver.context import is_loopback_host

TAG = "mcpserver"
_HEX_KEY_RE = re.compile(r"^[0-9a-fA-F]{64}$")


def _is_local_host(host: str) -> bool:
    # "testserver" is the Django test client's host name: local too, for this check.
    return host == "testserver" or is_loopback_host(host)


@register(TAG)
def check_secrets(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    keys = mcp_settings.ENCRYPTION_KEYS
    bad = [i for i, key in enumerate(keys) if not _HEX_KEY_RE.match(key)]
    if bad:
        errors.append(
            Error(
                "MCP_ENCRYPTION_KEYS holds a malformed key (position "
                + ", ".join(str(i + 1) for i in bad)
                + ").",
                hint="Each key is 64 hexadecimal characters: python -c "
                "'import secrets; print(secrets.token_hex(32))'",
                id="mcpserver.E003",
            )
        )
    if settings.DEBUG:
        return errors
    if not keys:
        errors.append(
            Error(
                "No encryption key: MCP_ENCRYPTION_KEYS is empty.",
                hint="Set MCP_ENCRYPTION_KEYS to one or more 64-hex-character keys, newest first.",
                id="mcpserver.E001",
            )
        )
    if not getattr(settings, "SECRET_KEY_FROM_ENV", True):
        errors.append(
            Error(
                "No secret key: DJANGO_SECRET_KEY is not set.",
                hint="Set DJANGO_SECRET_KEY to a long random value.",
                id="mcpserver.E002",
            )
        )
    return errors


@register(TAG)
def check_cache_serializers(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Redis caches must not unpickle what they read: write access to Redis is not code exec."""
    errors: list[CheckMessage] = []
    caches: dict[str, dict[str, Any]] = settings.CACHES
    for alias, config in caches.items():
        if "django_redis" not in config.get("BACKEND", ""):
            continue
        serializer = config.get("OPTIONS", {}).get(
            "SERIALIZER", "django_redis.serializers.pickle.PickleSerializer"
        )
        if "pickle" in serializer.lower():
            errors.append(
                Error(
                    f"Cache {alias!r} uses the pickle serializer.",
                    hint="Use django_redis.serializers.json.JSONSerializer or a bytes serializer.",
                    id="mcpserver.E004",
                )
            )
    return errors


@register(TAG)
def check_debug_exposure(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if settings.DEBUG:
        public = [host for host in settings.ALLOWED_HOSTS if not _is_local_host(host)]
        if public:
            messages.append(
                Error(
                    "DEBUG is on while the server accepts public hosts: " + ", ".join(public),
                    hint="Unset DJANGO_DEBUG, or limit DJANGO_ALLOWED_HOSTS to loopback names.",
                    id="mcpserver.E005",
                )
            )
        return messages
    public_url = urlsplit(mcp_settings.PUBLIC_URL)
    if public_url.scheme != "https" and not _is_local_host(public_url.hostname or ""):
        messages.append(
            CheckWarning(
                "MCP_PUBLIC_URL is not https; OAuth clients will refuse a plain-http resource.",
                id="mcpserver.W001",
            )
        )
    return messages


@register(TAG)
def check_outbound_networks(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    bad = []
    for value in mcp_settings.OUTBOUND_ALLOWED_NETWORKS:
        try:
            ipaddress.ip_network(value, strict=False)
        except (TypeError, ValueError):
            bad.append(repr(value))
    if not bad:
        return []
    return [
        Error(
            f"MCP_SERVER['OUTBOUND_ALLOWED_NETWORKS'] holds a malformed network: {', '.join(bad)}.",
            hint="Give networks as CIDR strings, e.g. '10.20.0.0/16'.",
            id="mcpserver.E006",
        )
    ]


@register(TAG)
def check_rate_limits(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    from django.core.exceptions import ValidationError

    from tenants.ratelimit_rates import validate_rate_setting

    errors: list[CheckMessage] = []
    for name in ("RATE_LIMIT_TENANT", "RATE_LIMIT_CREDENTIAL"):
        value = getattr(mcp_settings, name)
        try:
            if value is not None:
                validate_rate_setting(str(value) if value else "?")
        except ValidationError as exc:
            errors.append(
                Error(
                    f"MCP_SERVER[{name!r}] is not a rate: {' '.join(exc.messages)}",
                    hint="Give N/PERIOD with PERIOD s, min, h or day (e.g. '3000/min'), or None.",
                    id="mcpserver.E007",
                )
            )
    return errors


@register(TAG)
def check_static_manifest(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Outside debug mode the admin's assets come from a collected, hashed manifest: without
    it every page that names an asset would be a 500, so the server does not start."""
    if settings.DEBUG:
        return []
    backend = settings.STORAGES.get("staticfiles", {}).get("BACKEND", "")
    if "Manifest" not in backend:
        return []
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.is_file():
        return []
    return [
        Error(
            f"No static files manifest at {manifest}.",
            hint="Collect the static files first: python manage.py collectstatic --noinput "
            "(the deployment steps and the image do this).",
            id="mcpserver.E008",
        )
    ]
