"""The process tier: a bounded, expiring LRU of opened (plaintext) values in this process.

Revocation safety rests on ``generation``: every invalidation bumps it, and a value read from
the shared tier is only cached if no invalidation happened while it was being read. Without
that, a get racing a delete could put the revoked value back after the delete cleared it; and a
get racing this process's own write could put the value the write replaced back over it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

_Entry = tuple[bytes, float]


class ProcessCache:
    def __init__(self, *, max_size: int, ttl: float) -> None:
        self.max_size = max_size
        self.ttl = ttl
        self.generation = 0
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            with self._lock:
                self._entries.pop(key, None)
            return None
        # Recency is refreshed without the lock on purpose: move_to_end on a missing key
        # raises, which only means a concurrent invalidation won; the value is still valid
        # to return because it was read before that invalidation completed.
        try:
            self._entries.move_to_end(key)
        except KeyError:
            return None
        return entry[0]

    def put(
        self, key: bytes, value: bytes, *, ttl: float, generation: int, written: bool = False
    ) -> None:
        """Cache ``value`` unless an invalidation happened since ``generation`` was read.

        ``written``: ``value`` is what this process has just written to the shared tier, so
        it counts as an invalidation too: a read that began before the write may have found
        the value it replaced, and must not cache that over this one when it completes.
        """
        expires = time.monotonic() + min(ttl, self.ttl)
        with self._lock:
            current = self.generation
            if written:
                self.generation += 1
            if generation != current or self.max_size <= 0 or ttl <= 0:
                return
            self._entries[key] = (value, expires)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def drop(self, keys: Iterable[bytes]) -> None:
        with self._lock:
            self.generation += 1
            for key in keys:
                self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
