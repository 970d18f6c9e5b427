"""Process-local counters for the store (hits, misses, refusals, Redis failures).

Kept dependency-free so any exporter can read ``snapshot()``; increments are cheap enough for
the hot path (a dict update under the GIL, no lock: a lost increment under a race is tolerable
for a counter, a lock on every cache hit is not).
"""

from collections import Counter

_counters: Counter[str] = Counter()


def incr(name: str, amount: int = 1) -> None:
    _counters[name] += amount


def snapshot() -> dict[str, int]:
    return dict(_counters)


def get(name: str) -> int:
    return _counters[name]
