"""Redis stopped and restarted mid-test: callers see misses, never errors, and it recovers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

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
    assert store.delete_group("tenant:1") == 0  # held for retry, no error
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


def test_a_revocation_issued_during_an_outage_is_applied_when_redis_returns(
    store: Store, private_redis: RedisServer
) -> None:
    import redis

    store.set_json("auth:9:a", {"sub": "a"}, ttl=600, groups=["tenant:9"])
    redis.Redis.from_url(private_redis.url).save()  # the entry survives the restart
    private_redis.stop()
    assert store.delete_group("tenant:9") == 0  # Redis is down: held, not lost
    private_redis.start()
    raw = redis.Redis.from_url(private_redis.url)
    wait_for(lambda: store.get("auth:9:a") is None and raw.dbsize() == 0)
    assert metrics.get("store.revocations.replayed") >= 1


def test_a_silent_redis_turns_the_process_tier_off_within_a_second(
    store: Store, private_redis: RedisServer
) -> None:
    import redis

    store.set("k", b"v", ttl=600)
    # Redis stops answering without closing anything, as in a network partition.
    # The listener gives up after 0.9 s without a pong; the bound here allows for a busy machine.
    redis.Redis.from_url(private_redis.url).client_pause(2500, all=True)
    wait_for(lambda: not store.backend.process_cache_allowed(), timeout=2.0)
    wait_live(store)  # and back once Redis answers again


def test_a_frozen_redis_fails_fast_once_the_breaker_opens(
    store: Store, private_redis: RedisServer
) -> None:
    import time

    from sessions_store.backends.redis import RedisBackend
    from sessions_store.errors import StoreUnavailable

    assert isinstance(store.backend, RedisBackend)
    store.set("k", b"v", ttl=600)
    store.cache.clear()
    private_redis.freeze()
    try:
        with pytest.raises(StoreUnavailable):
            store.get("k", strict=True)  # the first call waits for its timeout
        assert store.backend.breaker.is_open
        started = time.monotonic()
        for _ in range(20):
            assert store.get("k") is None  # a miss for callers that fall back
            with pytest.raises(StoreUnavailable):
                store.get("k", strict=True)  # "unknown" for callers that must not
        # Forty calls in less than one socket timeout: none of them waited on Redis.
        assert time.monotonic() - started < 0.5
    finally:
        private_redis.thaw()
    wait_for(lambda: store.get("k") == b"v", timeout=10)  # the probe closed the breaker


def test_a_strict_write_says_it_was_not_stored(store: Store, private_redis: RedisServer) -> None:
    """A new legacy session must not get an id whose state was never written."""
    from sessions_store.errors import StoreUnavailable

    private_redis.freeze()
    try:
        store.set("new", b"v", ttl=600)  # a cache write: skipped, no error
        with pytest.raises(StoreUnavailable):
            store.set_json("session", {"v": 1}, ttl=600, strict=True)
    finally:
        private_redis.thaw()

    def stored() -> bool:
        try:
            store.set_json("session", {"v": 1}, ttl=600, strict=True)
        except StoreUnavailable:
            return False  # the breaker has not closed yet
        return True

    wait_for(stored, timeout=10)
    assert store.get_json("session") == {"v": 1}


def test_batched_commands_are_bounded_from_when_they_were_issued_and_the_lane_reconnects(
    store: Store, private_redis: RedisServer
) -> None:
    """Commands issued while a batch hangs on a frozen Redis wait for it, but each caller is
    answered (with an error) within its own timeout of issuing; once Redis is back, the same
    event loop's next batch goes out on a fresh connection."""
    import time

    from sessions_store.backends.redis import RedisBackend
    from sessions_store.errors import StoreUnavailable

    backend = store.backend
    assert isinstance(backend, RedisBackend)

    async def timed(within: float) -> tuple[float, BaseException | None]:
        started = time.monotonic()
        try:
            await backend.batched("ECHO", b"frozen", within=within)
        except Exception as exc:  # noqa: BLE001 (what the caller saw is the point)
            return time.monotonic() - started, exc
        return time.monotonic() - started, None

    async def run() -> tuple[list[tuple[float, BaseException | None]], Any]:
        assert await backend.batched("PING") == b"PONG"  # the lane's connection is open
        private_redis.freeze()
        try:
            first = [asyncio.ensure_future(timed(0.4)) for _ in range(5)]
            await asyncio.sleep(0.2)  # the first batch is on the wire, unanswered
            later = [asyncio.ensure_future(timed(0.4)) for _ in range(5)]
            waits = await asyncio.gather(*first, *later)
        finally:
            private_redis.thaw()
        for _ in range(100):  # a check once the cooldown is over sends the probe, which
            try:  # finds Redis again
                backend.breaker.check()
                break
            except StoreUnavailable:
                await asyncio.sleep(0.1)
        # A connection kept from before would answer with a reply meant for a frozen caller.
        return waits, await backend.batched("ECHO", b"after")

    waits, after = asyncio.run(run())
    assert all(error is not None for _wait, error in waits)
    assert max(wait for wait, _error in waits) < 0.4 + 0.15, waits
    assert after == b"after"
