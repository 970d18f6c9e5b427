"""The purge task run by a real Celery worker process, with Redis as the broker.

The worker is a separate process, so it must see the test database: PostgreSQL only (the
SQLite test database lives in this process's memory).
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from mcpserver.celery import app
from sessions_store.models import StoreEntry
from sessions_store.store import get_store
from sessions_store.tasks import purge_sessions
from tests.jobs.workers import reset_connections

pytestmark = pytest.mark.django_db(transaction=True)


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{quote(db['HOST'], safe='')}/{db['NAME']}"


def _broker_url(redis_url: str) -> str:
    # kombu names a Redis Unix socket redis+socket:///path
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


@pytest.fixture
def worker(redis_url: str, tmp_path: Path) -> Iterator[str]:
    if connection.vendor != "postgresql":
        pytest.skip("a worker process cannot see the in-memory SQLite test database")
    broker = _broker_url(redis_url)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
    }
    env.pop("REDIS_URL", None)  # the store stays on the database, like this process's
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mcpserver", "worker", "--pool", "solo",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    saved = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = broker, False
    reset_connections(app)  # pools made for the eager tests' broker would send nowhere
    try:
        yield broker
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        reset_connections(app)
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_worker_purges_expired_entries(worker: str) -> None:
    store = get_store()
    store.set("purge-test:live", b"keep me", ttl=600)
    store.set("purge-test:dead", b"drop me", ttl=0.2)
    time.sleep(0.5)
    assert StoreEntry.objects.count() == 2  # expired, but nothing has purged it yet

    purge_sessions.delay()

    deadline = time.monotonic() + 30
    while StoreEntry.objects.count() != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert StoreEntry.objects.count() == 1
    assert store.get("purge-test:live") == b"keep me"


def test_purge_is_scheduled() -> None:
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"sessions_store.purge_sessions", "tenants.refresh_jwks"} <= tasks
