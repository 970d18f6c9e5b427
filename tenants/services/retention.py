"""Audit retention: rows past a tenant's retention leave the start of its hash chain.

The audit log is append-only and hash-chained (``tenants.auditchain``), so rows can only leave
from the chain's start, and only here: under the chain head's lock, the oldest rows up to the
first one still inside the retention period are deleted, and the digest of the last deleted
row becomes the chain's *anchor*, where ``verify_audit`` starts instead of the genesis. Each
trim is itself audited in the same chain and transaction (rows, through which seq, the anchor
digest). A trim is idempotent: run again with the same cutoff (a job delivered twice), it finds
nothing left to trim and writes nothing.

Rows are dated by when the action happened, and a tool call's record may be linked a little
after later rows; trimming stops at the first row still inside the period, so such a row keeps
the ones after it until it too is past the cutoff.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from mcpserver.conf import mcp_settings
from tenants import auditchain
from tenants.audit import Actor, audit_record
from tenants.models import AuditLog, Tenant


@dataclass(frozen=True)
class TrimResult:
    tenant_id: int | None
    rows: int  # trimmed by this call
    through_seq: int  # the chain's anchor afterwards (0: nothing ever trimmed)
    anchor_digest: str
    complete: bool = True  # False: stopped at the deadline with rows left to trim


def retention_days(tenant: Tenant | None) -> int | None:
    """Days ``tenant``'s rows are kept (None: forever); ``None`` for rows without a tenant."""
    if tenant is not None and tenant.audit_retention_days:
        return int(tenant.audit_retention_days)
    days = mcp_settings.AUDIT_RETENTION_DAYS
    return None if days is None else int(days)


def retention_cutoff(
    tenant: Tenant | None, *, now: dt.datetime | None = None
) -> dt.datetime | None:
    days = retention_days(tenant)
    return None if days is None else (now or timezone.now()) - dt.timedelta(days=days)


def _chain_rows(tenant_id: int | None) -> models.QuerySet[AuditLog]:
    mine = Q(tenant__isnull=True) if tenant_id is None else Q(tenant_id=tenant_id)
    return AuditLog.objects.filter(mine)


@transaction.atomic
def _trim_batch(
    *, tenant: Tenant | None, before: dt.datetime, batch: int, actor: Actor
) -> TrimResult:
    tenant_id = tenant.pk if tenant is not None else None
    head = auditchain.locked_head(tenant_id)  # writers of this chain wait until we commit
    rows = _chain_rows(tenant_id).filter(seq__gt=head.anchor_seq)
    first_kept = rows.filter(time__gte=before).order_by("seq").values_list("seq", flat=True)[:1]
    limit = head.anchor_seq + batch
    through = min(first_kept[0] - 1 if first_kept else head.seq, limit)
    if through <= head.anchor_seq:
        return TrimResult(tenant_id, 0, head.anchor_seq, head.anchor_digest)
    last = rows.filter(seq=through).values_list("digest", flat=True).first()
    if last is None:  # a gap where the last trimmed row should be: leave it to verify_audit
        raise ValidationError(f"Audit chain broken at seq {through}; run verify_audit.")
    doomed = rows.filter(seq__lte=through)
    # The one place rows leave the append-only log: the queryset's own delete() refuses.
    deleted, _ = models.QuerySet.delete(doomed)
    type(head).objects.filter(pk=head.pk).update(anchor_seq=through, anchor_digest=last)
    audit_record(
        actor=actor,
        action="audit.trim",
        tenant=tenant,
        target=tenant.slug if tenant is not None else "",
        details={
            "rows": deleted,
            "through_seq": through,
            "anchor_digest": last,
            "before": before.isoformat(),
        },
    )
    return TrimResult(tenant_id, deleted, through, last)


def audit_trim(
    *,
    tenant: Tenant | None,
    before: dt.datetime,
    actor: Actor,
    batch: int | None = None,
    deadline: float | None = None,
) -> TrimResult:
    """Trim ``tenant``'s chain (None: the rows without a tenant) of rows older than ``before``.

    One transaction per ``batch`` rows (``AUDIT_TRIM_BATCH``), so the chain's writers never wait
    long on its lock; an interrupted trim leaves a consistent, verifiable chain and the next run
    goes on from its anchor. Past ``deadline`` (``time.monotonic()``) it stops between batches
    and says so (``complete`` False).
    """
    size = int(batch or mcp_settings.AUDIT_TRIM_BATCH)
    total = 0
    while True:
        result = _trim_batch(tenant=tenant, before=before, batch=size, actor=actor)
        total += result.rows
        done = result.rows < size
        if done or (deadline is not None and time.monotonic() >= deadline):
            return TrimResult(
                result.tenant_id, total, result.through_seq, result.anchor_digest, complete=done
            )


@transaction.atomic
def tenant_set_audit_retention(*, tenant: Tenant, days: int | None, actor: Actor) -> Tenant:
    """Set how long ``tenant``'s audit rows are kept (None: the server's default)."""
    if days == tenant.audit_retention_days:
        return tenant
    before = tenant.audit_retention_days
    tenant.audit_retention_days = days
    tenant.full_clean()
    tenant.save(update_fields=["audit_retention_days", "updated_at"])
    audit_record(
        actor=actor,
        action="tenant.set_audit_retention",
        tenant=tenant,
        target=tenant.slug,
        details={"before": before, "after": days},
    )
    return tenant
