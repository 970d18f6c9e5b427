"""The process tier: bounds, expiry, and the races with revocations and with writes."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from sessions_store.local import ProcessCache
from sessions_store.store import Store


def test_bounded_least_recently_used() -> None:
    cache = ProcessCache(max_size=2, ttl=60)
    for key in (b"a", b"b"):
        cache.put(key, key, ttl=60, generation=cache.generation)
    assert cache.get(b"a") == b"a"  # b is now the least recently used
    cache.put(b"c", b"c", ttl=60, generation=cache.generation)
    assert (cache.get(b"a"), cache.get(b"b"), cache.get(b"c")) == (b"a", None, b"c")


def test_never_longer_than_the_entry_or_the_tier_ttl() -> None:
    cache = ProcessCache(max_size=10, ttl=0.05)
    cache.put(b"k", b"v", ttl=60, generation=cache.generation)
    time.sleep(0.1)
    assert cache.get(b"k") is None
    cache = ProcessCache(max_size=10, ttl=60)
    cache.put(b"k", b"v", ttl=0.05, generation=cache.generation)
    time.sleep(0.1)
    assert cache.get(b"k") is None


def test_a_read_that_raced_a_revocation_is_not_cached() -> None:
    cache = ProcessCache(max_size=10, ttl=60)
    generation = cache.generation  # a get starts reading the shared tier...
    cache.drop([b"k"])  # ...a revocation arrives meanwhile...
    cache.put(b"k", b"revoked", ttl=60, generation=generation)  # ...the read completes
    assert cache.get(b"k") is None
    cache.put(b"k", b"fresh", ttl=60, generation=cache.generation)
    assert cache.get(b"k") == b"fresh"


def test_a_read_that_began_before_a_write_here_does_not_cache_over_it() -> None:
    cache = ProcessCache(max_size=10, ttl=60)
    cache.drop([b"k"])  # a write starts: what was held is stale...
    writing = cache.generation
    reading = cache.generation  # ...a get starts reading the shared tier, finds the old value
    cache.put(b"k", b"new", ttl=60, generation=writing, written=True)  # the write lands
    cache.put(b"k", b"old", ttl=60, generation=reading)  # the read completes after it
    assert cache.get(b"k") == b"new"


def test_a_read_racing_a_write_on_the_real_store_serves_the_write_afterwards(
    redis_store: Store,
) -> None:
    """A task's runner writes its new state while a poll of the same task reads it from Redis:
    the poll, begun once the write had started, finds the old state and completes after the
    write. It may answer what it found, but every later read answers the new state (before,
    the old one it cached was served for the process tier's whole lifetime)."""
    key = "race:task"
    redis_store.set_json(key, {"status": "working"}, ttl=600)
    backend: Any = redis_store.backend
    real_read, real_write = backend.aread, backend.write
    writing, read_old, written = threading.Event(), threading.Event(), threading.Event()

    def slow_write(*args: Any, **kwargs: Any) -> None:
        writing.set()  # the process tier no longer holds the key
        read_old.wait(5)  # the poll has read Redis before this write reaches it
        real_write(*args, **kwargs)

    async def slow_read(name: bytes) -> Any:
        found = await real_read(name)
        read_old.set()
        await asyncio.to_thread(written.wait, 5)  # its reply is handled after the write
        return found

    async def scenario() -> Any:
        def write() -> None:
            redis_store.set_json(key, {"status": "done"}, ttl=600)
            written.set()

        writer = asyncio.ensure_future(asyncio.to_thread(write))
        await asyncio.to_thread(writing.wait, 5)
        poll = await redis_store.aget_json(key)
        await writer
        return poll, await redis_store.aget_json(key)

    backend.aread, backend.write = slow_read, slow_write
    try:
        poll, after = asyncio.run(scenario())
    finally:
        del backend.aread, backend.write
    assert poll == {"status": "working"}
    assert after == {"status": "done"}
    assert redis_store.get_json(key) == {"status": "done"}


def test_disabled_when_size_is_zero() -> None:
    cache = ProcessCache(max_size=0, ttl=60)
    cache.put(b"k", b"v", ttl=60, generation=cache.generation)
    assert cache.get(b"k") is None
