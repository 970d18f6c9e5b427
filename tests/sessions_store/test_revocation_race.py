"""Reads racing a revocation from another instance never bring the revoked value back."""

from __future__ import annotations

import threading
import time

from sessions_store import metrics
from sessions_store.store import Store, build_store
from tests.sessions_store.conftest import wait_for, wait_live


def _race_once(
    reader_store: Store, revoker: Store, key: str
) -> tuple[list[tuple[float, bool]], float]:
    """Readers hammer ``key`` on one instance while another revokes it.

    Returns each read's (start time, found) and the time the revocation returned.
    """
    revoker.set_json(key, {"sub": "u"}, ttl=600, groups=["tenant:1"])
    hits = metrics.get("store.hit.process")
    wait_for(lambda: reader_store.get(key) and metrics.get("store.hit.process") > hits)
    results: list[tuple[float, bool]] = []
    stop = threading.Event()

    def read() -> None:
        count = 0
        while not stop.is_set():
            count += 1
            if count % 50 == 0:
                # Now and then from Redis, so some reads are in flight while the delete runs.
                reader_store.cache.clear()
            started = time.monotonic()
            results.append((started, reader_store.get(key) is not None))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    time.sleep(0.05)
    assert revoker.delete_group("tenant:1") == 1
    revoked_at = time.monotonic()
    time.sleep(1.1)
    stop.set()
    for reader in readers:
        reader.join()
    return results, revoked_at


def test_no_revoked_value_is_served_after_the_bound(redis_store: Store) -> None:
    other = build_store()  # a second instance of the server, sharing Redis
    try:
        wait_live(other)
        for round_ in range(3):
            key = f"auth:1:race-{round_}"
            results, revoked_at = _race_once(redis_store, other, key)
            assert any(found for started, found in results if started < revoked_at)
            late = [started for started, found in results if found and started > revoked_at + 1]
            assert late == [], "a revoked entry was served more than a second after revocation"
            # And for good: no racing read put it back in the process tier.
            assert redis_store.get(key) is None
    finally:
        other.close()
