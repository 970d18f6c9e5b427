"""Validation of what an operator types: upstream names and URLs, header templates, and the
JSON specification of an HTTP tool. One function per thing, shared by the models, the admin
forms, the services and the commands; each raises ``ValidationError`` with a message that
says what to change.

A header template is literal text with ``{secret:NAME}`` references, expanded when the request
is sent (``tenants.secrets``). Headers that carry credentials must take them from a secret:
a literal token typed into a header would sit in clear in the database.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

SECRET_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
SECRET_REF_RE = re.compile(r"\{secret:([^{}]*)\}")
UPSTREAM_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# No dot: dotted names (NAME.tool) belong to upstream servers' tools.
HTTP_TOOL_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
ARG_REF_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")

# Headers the client (httpx, the MCP SDK) sets itself; an operator may not override them.
RESERVED_HEADERS = frozenset(
    {
        "host", "content-length", "transfer-encoding", "connection", "upgrade", "te",
        "trailer", "keep-alive", "proxy-connection", "mcp-session-id", "mcp-protocol-version",
        "mcp-method", "mcp-name", "last-event-id", "accept", "content-type",
    }
)  # fmt: skip
# Header names that carry credentials: their value must come from a secret.
_CREDENTIAL_HINTS = ("auth", "token", "key", "secret", "cookie", "password", "session")

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_TIMEOUT = 300.0


def validate_secret_name(value: str) -> None:
    if not isinstance(value, str) or not SECRET_NAME_RE.match(value):
        raise ValidationError(
            "A secret name is 1 to 64 letters, digits, '_', '-' or '.', starting with a letter.",
            code="invalid_secret_name",
        )


def validate_secret_value(value: str) -> None:
    """Secrets go into HTTP headers: printable, no line breaks, not absurdly long."""
    if not isinstance(value, str) or not value:
        raise ValidationError("The secret value is empty.", code="empty_secret")
    if len(value) > 8192:
        raise ValidationError("The secret value is longer than 8192 characters.", code="long")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        # Never echo the value, not even in part: only what is wrong with it.
        raise ValidationError(
            "The secret value contains a line break or another control character.",
            code="control_character",
        )


def validate_upstream_name(value: str) -> None:
    if not isinstance(value, str) or not UPSTREAM_NAME_RE.match(value):
        raise ValidationError(
            "An upstream name is 1 to 32 lowercase letters, digits, '_' or '-', starting with "
            "a letter (its tools appear as NAME.tool).",
            code="invalid_upstream_name",
        )


def validate_outbound_url(value: str) -> None:
    """http or https with a host, no user info (credentials belong in secrets)."""
    parts = urlsplit(value or "")
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError("Use an http or https URL.", code="invalid_url")
    if parts.username or parts.password:
        raise ValidationError(
            "Put credentials in a header that references a secret, not in the URL.",
            code="credentials_in_url",
        )
    try:
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError as exc:
        raise ValidationError("The URL's port is not a number.", code="invalid_url") from exc


def secret_references(template: str) -> list[str]:
    return SECRET_REF_RE.findall(template)


def _check_header(name: Any, template: Any) -> str | None:
    if not isinstance(name, str) or not HEADER_NAME_RE.match(name):
        return f"'{str(name)[:60]}' is not a header name"
    if name.lower() in RESERVED_HEADERS:
        return f"{name} is set by the server itself"
    if not isinstance(template, str) or not template or len(template) > 2000:
        return f"{name}: the value must be text of at most 2000 characters"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in template):
        return f"{name}: the value contains a control character"
    refs = secret_references(template)
    bad = [ref for ref in refs if not SECRET_NAME_RE.match(ref)]
    if bad:
        return f"{name}: '{{secret:{bad[0][:60]}}}' does not name a secret"
    if not refs and any(hint in name.lower() for hint in _CREDENTIAL_HINTS):
        return (
            f"{name} carries a credential: reference a tenant secret, e.g. "
            f"'{name}=Bearer {{secret:API_TOKEN}}' (set it with set_tenant_secret)"
        )
    return None


def validate_header_templates(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Headers are an object of header name to value template.")
    problems = [p for p in (_check_header(k, v) for k, v in value.items()) if p]
    if problems:
        raise ValidationError("; ".join(problems) + ".", code="invalid_header")


def parse_header_option(option: str) -> tuple[str, str]:
    """``'Name=Value'`` (the command line's ``--header``)."""
    name, sep, template = option.partition("=")
    if not sep or not name.strip():
        raise ValidationError(f"--header takes NAME=VALUE, got {option[:60]!r}.")
    return name.strip(), template.strip()


def validate_timeout(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.1 <= value <= 300:
        raise ValidationError("A timeout is a number of seconds from 0.1 to 300.", code="timeout")
