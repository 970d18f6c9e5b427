"""Field validators shared by the models, the admin forms, the services and the commands."""

import re
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from mcpserver.context import is_loopback_host

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$")

# Names that would shadow a route, read as a system name, or confuse a person reading a URL.
RESERVED_SLUGS = frozenset(
    {
        "admin", "api", "app", "assets", "auth", "authorize", "callback", "console",
        "dashboard", "default", "docs", "health", "healthz", "internal", "login", "logout",
        "mcp", "me", "metrics", "null", "oauth", "oauth2", "oidc", "portal", "readyz",
        "register", "root", "signin", "signup", "sse", "static", "status", "support",
        "system", "token", "undefined", "well-known", "www",
    }
)  # fmt: skip

# Asymmetric algorithms only: an HMAC algorithm would let anyone holding the public key sign.
ALLOWED_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip

# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_RE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,128}$")


def default_algorithms() -> list[str]:
    return ["RS256", "ES256"]


def validate_tenant_slug(value: str) -> None:
    if not SLUG_RE.match(value or "") or "--" in value:
        raise ValidationError(
            "A tenant slug is 2 to 63 lowercase letters, digits and single hyphens, "
            "starting with a letter and not ending with a hyphen.",
            code="invalid_slug",
        )
    if value in RESERVED_SLUGS:
        raise ValidationError(f"'{value}' is a reserved name.", code="reserved_slug")


def validate_toolsets(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Tool sets are a list of names.", code="invalid_toolsets")
    from tenants.catalogue import toolset_names  # registered by the tools app when ready

    available = toolset_names()
    unknown = sorted(set(value) - set(available))
    if unknown:
        raise ValidationError(
            f"Unknown tool set(s): {', '.join(unknown)}. Available: {', '.join(available)}.",
            code="unknown_toolset",
        )
    if len(set(value)) != len(value):
        raise ValidationError("A tool set is listed twice.", code="duplicate_toolset")


# A tool's name as tools/list shows it; an upstream server's tools are NAME.tool.
TOOL_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


def validate_tool_names(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Tool names are a list of strings.", code="invalid_tool_names")
    bad = [name for name in value if not TOOL_NAME_RE.match(name)]
    if bad:
        raise ValidationError(
            f"Invalid tool name(s): {', '.join(repr(n[:80]) for n in bad)}. A tool name is "
            "letters, digits, '_', '-' and '.'.",
            code="invalid_tool_name",
        )
    if len(set(value)) != len(value):
        raise ValidationError("A tool is listed twice.", code="duplicate_tool")


def validate_scopes(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Scopes are a list of strings.", code="invalid_scopes")
    bad = [scope for scope in value if not SCOPE_RE.match(scope)]
    if bad:
        raise ValidationError(
            f"Invalid scope(s): {', '.join(repr(s) for s in bad)}. A scope is printable "
            "ASCII without spaces, quotes or backslashes.",
            code="invalid_scope",
        )


def validate_algorithms(value: Any) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Give at least one algorithm.", code="invalid_algorithms")
    bad = [alg for alg in value if alg not in ALLOWED_ALGORITHMS]
    if bad:
        raise ValidationError(
            f"Algorithm(s) not allowed: {', '.join(map(str, bad))}. "
            f"Allowed: {', '.join(ALLOWED_ALGORITHMS)}.",
            code="invalid_algorithm",
        )


def validate_issuer_url(value: str) -> None:
    """Issuers and JWKS endpoints are https; plain http only on loopback (local testing)."""
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback_host(parts.hostname):
        return
    raise ValidationError(
        "Use an https URL (plain http is accepted only for loopback addresses).",
        code="insecure_url",
    )
