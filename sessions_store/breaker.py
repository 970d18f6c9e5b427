"""A circuit breaker in front of the shared tier, shared by every thread and loop of a process.

Without it a hung Redis costs every call its full socket timeout, and a request makes several
calls: seconds per request, and a thread pool that fills up behind them. Once a call fails
for want of Redis (connection refused, timeout), the breaker opens and calls fail at once with
``StoreUnavailable``; callers fall back to the database and full validation. After
``cooldown`` seconds one probe (a PING from a short-lived daemon thread, never a request)
decides: it answers, the breaker closes; it does not, the breaker stays open for another
cooldown. No request ever waits on a probe.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sessions_store import metrics
from sessions_store.errors import StoreUnavailable

logger = logging.getLogger("sessions_store")


class Breaker:
    def __init__(self, *, cooldown: float, probe: Callable[[], object]) -> None:
        self.cooldown = cooldown
        self._probe = probe
        self._lock = threading.Lock()
        self._open_until: float | None = None  # None: closed
        self._probing = False

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def check(self) -> None:
        """Raise ``StoreUnavailable`` at once while the breaker is open."""
        if self._open_until is None:  # the hot path: one attribute read, no lock
            return
        with self._lock:
            if self._open_until is None:
                return
            due = not self._probing and time.monotonic() >= self._open_until
            if due:
                self._probing = True
        if due:
            threading.Thread(target=self._run_probe, name="store-probe", daemon=True).start()
        metrics.incr("store.breaker.refused")
        raise StoreUnavailable("the shared store is unavailable")

    def failed(self) -> None:
        """A call failed for want of the shared tier: open (or keep open) the breaker."""
        with self._lock:
            opened = self._open_until is None
            self._open_until = time.monotonic() + self.cooldown
        if opened:
            metrics.incr("store.breaker.opened")
            logger.warning("shared store unavailable: calls fail fast until a probe answers")

    def _run_probe(self) -> None:
        try:
            self._probe()
        except Exception:  # noqa: BLE001 (any failure of the probe means "still down")
            with self._lock:
                self._open_until = time.monotonic() + self.cooldown
                self._probing = False
            return
        with self._lock:
            self._open_until = None
            self._probing = False
        metrics.incr("store.breaker.closed")
        logger.warning("shared store available again")
