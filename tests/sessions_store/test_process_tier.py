"""The process tier: bounds, expiry, and the revocation race."""

from __future__ import annotations

import time

from sessions_store.local import ProcessCache


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


def test_disabled_when_size_is_zero() -> None:
    cache = ProcessCache(max_size=0, ttl=60)
    cache.put(b"k", b"v", ttl=60, generation=cache.generation)
    assert cache.get(b"k") is None
