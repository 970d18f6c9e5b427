"""The generic cell rate algorithm (GCRA), in this process: the limiter used without Redis.

Each limited key keeps one number, its theoretical arrival time (TAT). A rate of N per P
seconds spaces requests ``T = P / N`` apart and tolerates a burst of N: a request at ``now``
conforms when ``max(TAT, now) + T - P <= now``, and then moves the TAT on by T. A refused
request is told exactly how long until the next one conforms, which is what makes
``Retry-After`` right to the second; nothing is counted for it. The same arithmetic runs in
Redis (``tenants.ratelimit_redis``) when the instances share a budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mcpserver.process import process_state
from tenants.ratelimit_rates import Rate

# Float arithmetic must not refuse the Nth request of a burst of N by a rounding error.
EPSILON = 1e-6
# Past this many keys, those whose TAT has passed (a fresh start for them anyway) are dropped.
_MAX_KEYS = 50_000

clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True, slots=True)
class Refusal:
    """Which of the checks refused (its index), and the seconds until a request passes."""

    index: int
    wait: float


Checks = Sequence[tuple[str, Rate]]

_lock = threading.Lock()
_tats: dict[str, float] = process_state.cache("ratelimit.local_tats")


def take(checks: Checks) -> Refusal | None:
    """One request against every ``(key, rate)`` at once: all conform and are counted, or
    none is (a request refused for its credential does not use up the tenant's budget)."""
    now = clock()
    with _lock:
        worst: Refusal | None = None
        moved = []
        for index, (key, rate) in enumerate(checks):
            tat = max(_tats.get(key, now), now)
            wait = tat + rate.interval - rate.period - now
            if wait > EPSILON and (worst is None or wait > worst.wait):
                worst = Refusal(index=index, wait=wait)
            moved.append(tat + rate.interval)
        if worst is not None:
            return worst
        if len(_tats) >= _MAX_KEYS:
            _prune(now)
        for (key, _rate), tat in zip(checks, moved, strict=True):
            _tats[key] = tat
    return None


def _prune(now: float) -> None:
    for key in [key for key, tat in _tats.items() if tat <= now]:
        del _tats[key]
    if len(_tats) >= _MAX_KEYS:  # all of them busy: memory stays bounded all the same
        _tats.clear()
