"""The store's batched commands on the real test Redis: reads go side by side in one batch
with what other requests send meanwhile, each caller gets its own reply or its own error."""

from __future__ import annotations

import asyncio

import redis

from sessions_store import metrics
from sessions_store.backends.base import entry_name
from sessions_store.backends.redis import RedisBackend
from sessions_store.store import Store


def _backend(store: Store) -> RedisBackend:
    assert isinstance(store.backend, RedisBackend)
    return store.backend


def test_concurrent_reads_and_appends_share_one_round_trip(
    redis_store: Store, redis_url: str
) -> None:
    backend = _backend(redis_store)
    redis_store.set("batched:a", b"A", ttl=600)

    async def run() -> list[object]:
        return await asyncio.gather(
            backend.aread(entry_name("batched:a")),
            backend.aread(entry_name("batched:missing")),
            backend.batched("ECHO", b"beside"),
        )

    batches, commands = metrics.get("redis.batches"), metrics.get("redis.batched_commands")
    found, missing, echoed = asyncio.run(run())
    assert metrics.get("redis.batches") - batches == 1
    assert metrics.get("redis.batched_commands") - commands == 5  # two reads, one echo
    assert isinstance(found, tuple) and 0 < found[1] <= 600
    envelope = found[0]
    assert envelope == redis.Redis.from_url(redis_url).get(entry_name("batched:a"))  # sealed
    assert missing is None
    assert echoed == b"beside"


def test_a_command_that_fails_fails_alone(redis_store: Store, redis_url: str) -> None:
    backend = _backend(redis_store)
    redis.Redis.from_url(redis_url).rpush(b"batched:list", b"x")  # GET on a list: WRONGTYPE

    async def run() -> list[object]:
        return await asyncio.gather(
            backend.aread(b"batched:list"),
            backend.batched("ECHO", b"unharmed"),
            return_exceptions=True,
        )

    failed, echoed = asyncio.run(run())
    assert isinstance(failed, redis.ResponseError) and "WRONGTYPE" in str(failed)
    assert echoed == b"unharmed"
