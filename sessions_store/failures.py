"""What counts as the shared tier failing, and a log that says so without flooding."""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError

from sessions_store import metrics

logger = logging.getLogger("sessions_store")


def failure_types() -> tuple[type[BaseException], ...]:
    import redis

    from sessions_store.errors import StoreUnavailable

    return (redis.RedisError, OSError, DatabaseError, StoreUnavailable)


class FailureLog:
    """Logs a failing shared tier at most once per interval, with how many were suppressed."""

    def __init__(self, *, interval: float) -> None:
        self.interval = interval
        self._last = 0.0
        self._suppressed = 0

    def record(self, operation: str, exc: BaseException) -> None:
        metrics.incr(f"store.unavailable.{operation}")
        now = time.monotonic()
        if now - self._last < self.interval:
            self._suppressed += 1
            return
        # The exception's type only: a server error message can echo a key name.
        logger.warning(
            "shared store unavailable during %s (%s); %d earlier failures not logged",
            operation,
            type(exc).__name__,
            self._suppressed,
        )
        self._last, self._suppressed = now, 0
