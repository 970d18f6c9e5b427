"""Reads of tenants and credentials used by commands, the admin and the authenticator."""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from mcpserver.conf import mcp_settings
from tenants.models import ApiKey, AuditLog, IdentityProvider, Tenant

# The audit actions that record a tool call.
TOOL_CALL_ACTIONS = ("tool.call",)


def tenant_get(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()


def api_key_get(*, public_id: str) -> ApiKey | None:
    return ApiKey.objects.select_related("tenant").filter(public_id=public_id).first()


def api_key_get_by_digest(*, digest: str) -> ApiKey | None:
    return ApiKey.objects.select_related("tenant").filter(digest=digest).first()


def audit_log_for_tenant(*, tenant: Tenant) -> QuerySet[AuditLog]:
    return AuditLog.objects.filter(tenant=tenant)


def dashboard_summary(*, now: datetime | None = None) -> dict[str, Any]:
    """What the admin's index page shows an operator first."""
    now = now or timezone.now()
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    stale_before = now - timedelta(seconds=float(mcp_settings.JWKS_CACHE_TTL))
    failing = (
        IdentityProvider.objects.filter(enabled=True, tenant__status=Tenant.Status.ACTIVE)
        .filter(Q(keys_error__gt="") | Q(keys_refreshed_at__lt=stale_before))
        .select_related("tenant")
        .order_by("tenant__slug", "issuer")
    )
    today = AuditLog.objects.filter(time__gte=day_start)
    return {
        "tenants_active": Tenant.objects.filter(status=Tenant.Status.ACTIVE).count(),
        "tenants_suspended": Tenant.objects.filter(status=Tenant.Status.SUSPENDED).count(),
        "keys_active": ApiKey.objects.usable().count(),
        "providers_failing": list(failing[:20]),
        "recent_failures": list(
            AuditLog.objects.exclude(outcome=AuditLog.Outcome.SUCCESS).select_related("tenant")[:10]
        ),
        "calls_today": today.filter(action__in=TOOL_CALL_ACTIONS).count(),
        "events_today": today.count(),
    }
