"""Celery tasks of the tenants app. They take ids and call services."""

from celery import shared_task

from tenants.auth import keystatus


@shared_task(name="tenants.refresh_jwks", ignore_result=True)
def refresh_jwks(provider_id: int | None = None) -> int:
    """Keep every enabled identity provider's keys warm in the shared store."""
    results = keystatus.refresh_enabled(provider_id=provider_id)
    return sum(1 for _, outcome in results if outcome.ok)
