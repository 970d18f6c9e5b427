"""Audit rows dated in the past, appended to a chain the way the writers do."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from tenants import auditchain
from tenants.models import AuditLog, Tenant


def old_rows(tenant: Tenant | None, *, days_ago: list[int], action: str = "test.old") -> None:
    """Append one row per entry of ``days_ago`` (in that order) to ``tenant``'s chain."""
    now = timezone.now()
    tenant_id = tenant.pk if tenant is not None else None
    rows = [
        auditchain.NewRow(
            tenant_id=tenant_id,
            actor="test:old",
            action=action,
            target=str(days),
            outcome=AuditLog.Outcome.SUCCESS,
            client_ip=None,
            request_id="",
            time=now - dt.timedelta(days=days),
            details={"days_ago": days},
        )
        for days in days_ago
    ]
    with transaction.atomic():
        auditchain.append(rows, tenant_id=tenant_id)


def actions(tenant: Tenant) -> list[str]:
    return list(
        AuditLog.objects.filter(tenant=tenant).order_by("seq").values_list("action", flat=True)
    )
