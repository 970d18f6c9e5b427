"""What the portal and the API read about a member: their keys and what their credentials
did lately (from the audit log, so every instance's calls are seen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from tenants.models import ApiKey, AuditLog, Membership, Tenant
from tenants.toolaudit import ACTION as TOOL_CALL


def membership_of(*, user: Any, tenant: Tenant) -> Membership | None:
    if user is None or not user.is_authenticated:
        return None
    return (
        Membership.objects.select_related("tenant", "user").filter(user=user, tenant=tenant).first()
    )


def personal_keys(*, membership: Membership) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(tenant_id=membership.tenant_id, owner_id=membership.user_id)


def member_actors(membership: Membership) -> list[str]:
    """How the member's calls are named in the audit log: one per key, and their subject."""
    ids = personal_keys(membership=membership).values_list("public_id", flat=True)
    actors = [f"api_key:{public_id}" for public_id in ids]
    if membership.subject:
        actors.append(f"jwt:{membership.subject}")
    return actors


@dataclass(frozen=True)
class SeenClient:
    credential: str
    client: str
    protocol_version: str
    last_used: datetime
    calls: int


def recent_clients(*, membership: Membership, days: int = 30, limit: int = 500) -> list[SeenClient]:
    """The member's credentials and the clients that used them, newest first: one line per
    credential, client and protocol version seen in the last ``days``."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        AuditLog.objects.filter(
            tenant_id=membership.tenant_id,
            action=TOOL_CALL,
            actor__in=member_actors(membership),
            time__gte=since,
        )
        .order_by("-time")
        .values_list("actor", "details", "time")[:limit]
    )
    seen: dict[tuple[str, str, str], list[Any]] = {}
    for actor, details, when in rows:
        details = details if isinstance(details, dict) else {}
        held = details.get("client")
        client: dict[str, Any] = held if isinstance(held, dict) else {}
        name = " ".join(str(client.get(k, "")) for k in ("name", "version")).strip() or "unknown"
        line = (actor, name, str(details.get("protocol_version", "")))
        if line in seen:
            seen[line][1] += 1
        else:
            seen[line] = [when, 1]
    return [
        SeenClient(credential=a, client=c, protocol_version=v, last_used=w, calls=n)
        for (a, c, v), (w, n) in seen.items()
    ]


def tenant_members(*, tenant: Tenant) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__username")
    )


def display_name(user: AbstractBaseUser) -> str:
    full = getattr(user, "get_full_name", lambda: "")()
    return str(full or getattr(user, "email", "") or user.get_username())
