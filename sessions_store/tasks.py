"""Celery tasks for the store: the periodic purge (schedule it with celery beat)."""

from celery import shared_task

from sessions_store.maintenance import purge_expired
from sessions_store.store import get_store


@shared_task(name="sessions_store.purge_sessions", ignore_result=True)
def purge_sessions() -> dict[str, int]:
    return purge_expired(store=get_store())
