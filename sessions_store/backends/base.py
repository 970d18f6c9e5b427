"""What a shared tier provides, and the storage names both tiers use.

Names are truncated SHA-256 digests of the caller's keys: fixed length (compact in Redis, easy
to parse in invalidation messages), and a caller's key, which may embed a credential digest,
never appears in Redis, in the database or on the invalidation channel.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Protocol

# 128 bits: finding two keys with one name costs 2**64 work and would only let someone
# confuse two entries of their own making; a victim's name needs 2**128.
NAME_SIZE = 16
ENTRY_PREFIX = b"s:"
GROUP_PREFIX = b"g:"
LOG_PREFIX = b"l:"


def entry_name(key: str) -> bytes:
    return ENTRY_PREFIX + hashlib.sha256(key.encode()).digest()[:NAME_SIZE]


def group_name(group: str) -> bytes:
    return GROUP_PREFIX + hashlib.sha256(group.encode()).digest()[:NAME_SIZE]


def log_name(stream: str) -> bytes:
    return LOG_PREFIX + hashlib.sha256(stream.encode()).digest()[:NAME_SIZE]


class Invalidations(Protocol):
    """Drop these names from the process tier; ``None`` drops everything."""

    def __call__(self, names: Iterable[bytes] | None) -> None: ...


class Backend(Protocol):
    """The shared tier. Errors from the server propagate; the Store turns them into misses."""

    # Whether the process tier may hold this backend's values, right now.
    def process_cache_allowed(self) -> bool: ...

    # The longest time this backend lets the process tier keep a value (revocation bound).
    process_cache_cap: float
    # Whether blocking calls must run on the thread the ORM is bound to (sync_to_async).
    thread_sensitive: bool

    def start(self, *, on_invalidate: Invalidations) -> None: ...
    def close(self) -> None: ...
    async def aclose(self) -> None: ...

    def read(self, name: bytes) -> tuple[bytes, float] | None:
        """The envelope and its remaining lifetime in seconds."""
        ...

    async def aread(self, name: bytes) -> tuple[bytes, float] | None: ...

    def write(self, name: bytes, envelope: bytes, *, ttl: float, groups: list[bytes]) -> None: ...
    def remove(self, name: bytes) -> None: ...
    def remove_group(self, group: bytes) -> int: ...

    def log_append(self, stream: bytes, envelope: bytes, *, ttl: float) -> str: ...
    def log_read(self, stream: bytes, *, after: str | None) -> list[tuple[str, bytes]]: ...

    # Maintenance: rotation and purge.
    def iter_entries(self) -> Iterator[tuple[bytes, bytes]]: ...
    def replace(self, name: bytes, *, old: bytes, new: bytes) -> bool: ...
    def iter_logs(self) -> Iterator[tuple[bytes, list[tuple[str, bytes]]]]: ...
    def replace_log(
        self, stream: bytes, *, old: list[tuple[str, bytes]], new: list[tuple[str, bytes]]
    ) -> bool: ...
    def purge(self) -> dict[str, int]: ...
