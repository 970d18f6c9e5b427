"""Celery tasks of the tenants app. They take ids and call services."""

import time

from celery import shared_task

from tenants import toolaudit
from tenants.auth import keystatus


@shared_task(name="tenants.refresh_jwks", ignore_result=True)
def refresh_jwks(provider_id: int | None = None) -> int:
    """Keep every enabled identity provider's keys warm in the shared store."""
    results = keystatus.refresh_enabled(provider_id=provider_id)
    return sum(1 for _, outcome in results if outcome.ok)


@shared_task(name="tenants.drain_audit", ignore_result=True)
def drain_audit(budget_seconds: float = 50.0) -> int:
    """Move tool-call audit records from the Redis stream to the database (celery beat)."""
    return toolaudit.journal().drain_until_empty(deadline=time.monotonic() + budget_seconds)
