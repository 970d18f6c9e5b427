"""Redis stopped and restarted mid-test: callers see misses, never errors, and it recovers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings

from sessions_store import metrics
from sessions_store.cache_config import store_cache
from sessions_store.store import Store, build_store, get_store
from tests.sessions_store.conftest import RedisServer, wait_for, wait_live


@pytest.fixture
def store(private_redis: RedisServer) -> Iterator[Store]:
    with override_settings(CACHES={**settings.CACHES, "store": store_cache(private_redis.url)}):
        store = get_store()
        wait_live(store)
        yield store


def test_outage_is_a_miss_and_the_store_recovers(
    store: Store, private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    store.set_json("auth:1:a", {"sub": "a"}, ttl=600, groups=["tenant:1"])
    assert store.get_json("auth:1:a") == {"sub": "a"}

    private_redis.stop()
    # Once the listener notices, the process tier is off: it could miss revocations.
    wait_for(lambda: not store.backend.process_cache_allowed())
    misses = metrics.get("store.unavailable.get")
    caplog.set_level(logging.WARNING, logger="sessions_store")
    assert store.get_json("auth:1:a") is None
    assert store.get("auth:1:a") is None
    assert metrics.get("store.unavailable.get") == misses + 2
    store.set_json("auth:1:b", {"sub": "b"}, ttl=600)  # skipped, no error
    store.delete("auth:1:a")
    assert store.delete_group("tenant:1") == 0
    assert store.log_append("log", b"x", ttl=60) == ""
    assert store.log_read("log") == []

    async def aget() -> bytes | None:
        try:
            return await store.aget("auth:1:a")
        finally:
            await store.aclose()

    assert asyncio.run(aget()) is None
    # Failures are logged, but not one line per call.
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 1 <= len(warnings) <= 2

    private_redis.start()

    def recovered() -> bool:
        store.set_json("auth:1:c", {"sub": "c"}, ttl=600, groups=["tenant:1"])
        return bool(store.get_json("auth:1:c") == {"sub": "c"})

    wait_for(recovered)
    wait_live(store)

    # The listener is subscribed again: a revocation from another store instance (another
    # instance of the server) empties this one's process tier.
    assert store.get_json("auth:1:c") == {"sub": "c"}
    hits = metrics.get("store.hit.process")
    assert store.get_json("auth:1:c") == {"sub": "c"}
    assert metrics.get("store.hit.process") == hits + 1
    other = build_store()
    try:
        assert other.delete_group("tenant:1") == 1
        wait_for(lambda: store.get("auth:1:c") is None, timeout=1.0)
    finally:
        other.close()
