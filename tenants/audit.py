"""Who did something, and the one function that records it in the audit log."""

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from mcpserver.context import request_id_var
from tenants.models import AuditLog, Tenant


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


def audit_record(
    *,
    actor: Actor,
    action: str,
    tenant: Tenant | None = None,
    target: str = "",
    outcome: str = AuditLog.Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit row. Call inside the same transaction as the change it records."""
    return AuditLog.objects.create(
        tenant=tenant,
        actor=actor.name[:200],
        action=action,
        target=target[:300],
        outcome=outcome,
        client_ip=actor.client_ip,
        request_id="" if actor.request_id == "-" else actor.request_id[:64],
        details=details or {},
    )
