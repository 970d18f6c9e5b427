"""Celery tasks of the tenants app. They take ids and call services.

Every task here may run more than once for one enqueueing (acks late: a worker killed mid-job
leaves it to be delivered again), so each is idempotent: refreshing keys again is harmless, a
trim with the same cutoff finds nothing left, a drained record is written once (its event id).
Faults of the network (database, Redis) are retried with backoff a bounded number of times.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from tenants import services, toolaudit
from tenants.audit import Actor
from tenants.auth import keystatus
from tenants.models import IdentityProvider, Tenant
from tenants.services.retention import retention_cutoff

logger = logging.getLogger(__name__)

NETWORK_FAULTS = (OperationalError, InterfaceError, RedisError, ConnectionError, TimeoutError)
JOB: dict[str, Any] = {
    "ignore_result": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": NETWORK_FAULTS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}
# A provider whose keys could not be fetched is tried again after 1, 2 and 4 minutes.
JWKS_RETRIES = 3
JWKS_RETRY_DELAY = 60
# A trim stops between batches after this long and goes on in a new job (time limit 240 s).
TRIM_BUDGET_SECONDS = 180.0


def enqueue(task: Task, *args: Any) -> None:
    """Send ``task`` once the surrounding transaction commits (at once outside one), so a
    worker never looks for rows that are not there yet, or that a rollback removed."""
    transaction.on_commit(lambda: task.apply_async(args=args))


@shared_task(name="tenants.refresh_jwks", **JOB)
def refresh_jwks(provider_id: int | None = None) -> int:
    """Beat: one job per enabled identity provider of an active tenant, each retried alone."""
    if provider_id is not None:
        enqueue(refresh_provider_jwks, provider_id)
        return 1
    ids = list(
        IdentityProvider.objects.filter(enabled=True, tenant__status="active")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in ids:
        enqueue(refresh_provider_jwks, pk)
    return len(ids)


@shared_task(name="tenants.refresh_provider_jwks", bind=True, **JOB)
def refresh_provider_jwks(self: Task, provider_id: int) -> bool:
    """Fetch one provider's keys, share them and record the outcome on its row."""
    provider = (
        IdentityProvider.objects.filter(pk=provider_id, enabled=True, tenant__status="active")
        .select_related("tenant")
        .first()
    )
    if provider is None:  # removed or disabled since it was enqueued: nothing to do
        return False
    outcome = keystatus.check(provider)
    if outcome.ok:
        return True
    logger.warning("JWKS refresh for provider %s failed: %s", provider_id, outcome.error)
    if not self.request.is_eager and self.request.retries < JWKS_RETRIES:
        raise self.retry(countdown=JWKS_RETRY_DELAY * 2**self.request.retries)
    return False


@shared_task(name="tenants.check_jwks", **JOB)
def check_jwks() -> int:
    """Raise an alert for each provider whose keys outlived their cache lifetime unrefreshed."""
    return len(keystatus.find_stale())


@shared_task(name="tenants.drain_audit", **JOB)
def drain_audit(budget_seconds: float = 50.0) -> int:
    """Move tool-call audit records from the Redis stream to the database (celery beat)."""
    return toolaudit.journal().drain_until_empty(deadline=time.monotonic() + budget_seconds)


@shared_task(name="tenants.apply_audit_retention", **JOB)
def apply_audit_retention() -> int:
    """Beat: one trim job per chain (every tenant's, and the rows without a tenant), each with
    its cutoff fixed now, so a job delivered twice trims the same rows once."""
    now = timezone.now()
    chains: list[tuple[int | None, dt.datetime | None]] = [
        (tenant.pk, retention_cutoff(tenant, now=now)) for tenant in Tenant.objects.order_by("pk")
    ]
    chains.append((None, retention_cutoff(None, now=now)))
    jobs = [(pk, cutoff) for pk, cutoff in chains if cutoff is not None]
    for pk, cutoff in jobs:
        enqueue(trim_audit, pk, cutoff.isoformat())
    return len(jobs)


@shared_task(name="tenants.trim_audit", **JOB)
def trim_audit(tenant_id: int | None, before: str) -> int:
    """Trim one chain of the rows older than ``before`` (ISO 8601); goes on in a new job when
    its time budget runs out."""
    tenant = None
    if tenant_id is not None:
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is None:
            return 0
    result = services.audit_trim(
        tenant=tenant,
        before=dt.datetime.fromisoformat(before),
        actor=Actor.system("job:audit-retention"),
        deadline=time.monotonic() + TRIM_BUDGET_SECONDS,
    )
    if not result.complete:
        enqueue(trim_audit, tenant_id, before)
    return result.rows
