"""Celery tasks for the store: the periodic purge (schedule it with celery beat).

Idempotent (a second purge finds nothing more to remove), so it is acknowledged late and
retried with backoff on a network fault like the other jobs.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError

from sessions_store.maintenance import purge_expired
from sessions_store.store import get_store


@shared_task(
    name="sessions_store.purge_sessions",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError, RedisError, ConnectionError, TimeoutError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def purge_sessions() -> dict[str, int]:
    return purge_expired(store=get_store())
