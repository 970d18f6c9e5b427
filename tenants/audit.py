"""Who did something, and the one function that records it in the audit log.

An audit write must not fail, or be bent, by what a client sent: every string that reaches a
row is cleaned first. Control, format and surrogate characters are escaped (PostgreSQL's text
and jsonb refuse NUL and lone surrogates; newlines and bidi overrides forge lines for whoever
reads the log), non-finite floats become text (jsonb has no NaN), and lengths and nesting are
bounded.
"""

import math
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from mcpserver.context import request_id_var
from tenants import auditchain
from tenants.models import AuditLog

if TYPE_CHECKING:
    from tenants.snapshots import AnyTenant


@dataclass(frozen=True)
class Actor:
    """The person or process behind an action, with where the request came from."""

    name: str
    client_ip: str | None = None
    request_id: str = field(default_factory=lambda: request_id_var.get("-"))

    @classmethod
    def from_request(cls, request: HttpRequest) -> "Actor":
        user = getattr(request, "user", None)
        name = f"admin:{user.get_username()}" if user and user.is_authenticated else "anonymous"
        return cls(
            name=name,
            client_ip=getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR"),
            request_id=getattr(request, "request_id", "-"),
        )

    @classmethod
    def system(cls, name: str) -> "Actor":
        return cls(name=name)


_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_MAX_TEXT = 1000
_MAX_ITEMS = 50
_MAX_DEPTH = 4


def clean_text(value: str, *, limit: int = _MAX_TEXT) -> str:
    """``value`` safe for any text column and any log reader, at most ``limit`` characters."""
    if limit > 0 and value.isascii() and value.isprintable():
        # Nothing to escape (printable ASCII is letters, digits, punctuation, symbols and the
        # space): the same answer as the loop below without a category lookup per character,
        # which was most of what writing a tool call's audit row cost.
        return value if len(value) <= limit else value[: limit - 1] + "\u2026"
    out: list[str] = []
    size = 0
    for char in value[: limit + 1]:
        if unicodedata.category(char) in _ESCAPED_CATEGORIES:
            code = ord(char)
            char = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
        out.append(char)
        size += len(char)
        if size > limit:
            break
    text = "".join(out)
    return text if size <= limit else text[: limit - 1] + "\u2026"


def clean_details(value: Any, *, depth: int = 0) -> Any:
    """A JSON value any database accepts, whatever ``value`` holds."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return clean_text(value)
    if depth >= _MAX_DEPTH:
        return clean_text(repr(value), limit=200)
    if isinstance(value, dict):
        items = list(value.items())[:_MAX_ITEMS]
        return {clean_text(str(k), limit=100): clean_details(v, depth=depth + 1) for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        return [clean_details(item, depth=depth + 1) for item in list(value)[:_MAX_ITEMS]]
    return clean_text(str(value))


def audit_record(
    *,
    actor: Actor,
    action: str,
    tenant: "AnyTenant | None" = None,
    target: str = "",
    outcome: str = AuditLog.Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row at the end of its tenant's hash chain.

    Call inside the same transaction as the change it records (the chain's head stays locked
    until that transaction ends).
    """
    tenant_id = tenant.pk if tenant is not None else None
    row = auditchain.NewRow(
        time=timezone.now(),
        tenant_id=tenant_id,
        actor=clean_text(actor.name, limit=200),
        action=action,
        target=clean_text(target, limit=300),
        outcome=outcome,
        client_ip=actor.client_ip,
        request_id="" if actor.request_id == "-" else clean_text(actor.request_id, limit=64),
        details=clean_details(details or {}),
    )
    with transaction.atomic():
        auditchain.append([row], tenant_id=tenant_id)
