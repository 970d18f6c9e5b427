"""Revocations that could not reach the shared tier, retried until they do.

A delete or delete_group issued while Redis is down would otherwise be lost: the entries
would come back, still valid, when Redis returns. They are kept here (bounded, in this
process only) and applied again before the next shared-tier operation and whenever the
invalidation listener reconnects. While any are held, this process reads nothing from the
shared tier (``Store.get``): only Redis knows a held group's members. A process that exits
meanwhile loses them, so the entries may live until their own TTL: callers for whom that
matters keep their own durable record (the auth caches check ``tenants.auth.ledger``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from sessions_store import metrics
from sessions_store.backends.base import Backend

logger = logging.getLogger("sessions_store")

KEY = "k"
GROUP = "g"
MAX_PENDING = 10_000
# After a failed replay, ordinary calls wait this long before trying again, so a Redis that
# hangs does not cost every caller a second timeout; a reconnected listener retries at once.
RETRY_INTERVAL = 0.25


class PendingRevocations:
    def __init__(self, *, errors: tuple[type[BaseException], ...]) -> None:
        self._errors = errors
        self._items: OrderedDict[tuple[str, bytes], None] = OrderedDict()
        self._lock = threading.Lock()
        self._failed_at = -RETRY_INTERVAL

    def __bool__(self) -> bool:
        return bool(self._items)

    def add(self, kind: str, name: bytes) -> None:
        with self._lock:
            self._items[(kind, name)] = None
            if len(self._items) > MAX_PENDING:
                self._items.popitem(last=False)
                metrics.incr("store.revocations.dropped")

    def replay(self, backend: Backend, *, force: bool = False) -> None:
        if not self._items:
            return
        if not force and time.monotonic() - self._failed_at < RETRY_INTERVAL:
            return
        # One replayer at a time; others go on rather than queue behind a slow Redis.
        if not self._lock.acquire(blocking=False):
            return
        try:
            for kind, name in list(self._items):
                if kind == KEY:
                    backend.remove(name)
                else:
                    backend.remove_group(name)
                del self._items[(kind, name)]
                metrics.incr("store.revocations.replayed")
        except self._errors:
            self._failed_at = time.monotonic()
            return
        finally:
            self._lock.release()
        logger.warning("revocations held during a shared store outage have been applied")
