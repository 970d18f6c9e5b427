"""A journal's Redis stream: appended to on the request path, read by a consumer group.

Entries leave the stream only once a drainer has committed them elsewhere (XACK, then XDEL).
An entry a drainer read and never acknowledged (it died, or its commit failed) stays pending;
the drainer itself reads its own pending entries first, and any drainer claims (XAUTOCLAIM)
the entries another has left idle for longer than ``claim_idle``.

Durability across a Redis restart is Redis's: with ``appendonly yes`` (and
``appendfsync always`` for not a second's loss on a crash) or RDB snapshots, the stream and
its group come back; without, whatever was not yet drained is gone.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from sessions_store.backends.redis import RedisBackend

GROUP = "drainers"
FIELD = b"d"
# A blocking read waits on its own connections, whose socket timeout outlasts the block: on
# the store's (a 0.5 s socket timeout, so that a slow Redis is a miss, not a hang) every idle
# wait would end in a timeout and count against the breaker the request path depends on.
_BLOCKING_READ_MARGIN = 2.0


class RedisStream:
    def __init__(self, backend: RedisBackend, name: bytes, *, append_timeout: float) -> None:
        self.backend = backend
        self.name = name
        self.append_timeout = append_timeout
        self._group_ready = False
        self._blocking: redis.Redis | None = None

    def _blocking_client(self, block_ms: int) -> redis.Redis:
        if self._blocking is None:
            pool = self.backend.client.connection_pool
            kwargs = {
                **pool.connection_kwargs,
                "socket_timeout": block_ms / 1000 + _BLOCKING_READ_MARGIN,
            }
            self._blocking = redis.Redis(
                connection_pool=redis.ConnectionPool(
                    connection_class=pool.connection_class, max_connections=2, **kwargs
                )
            )
        return self._blocking

    async def aappend(self, envelope: bytes) -> None:
        """Append one entry; returns once Redis holds it. Appends made in the same event-loop
        tick share one round trip (``redis_batch``), bounded by the append timeout."""
        await self.backend.batched(
            "XADD", self.name, "*", FIELD, envelope, within=self.append_timeout
        )

    def append(self, envelope: bytes) -> None:
        with self.backend.guarded():
            self.backend.client.xadd(self.name, {FIELD: envelope})

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.backend.client.xgroup_create(self.name, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def read(
        self, consumer: str, *, count: int, block_ms: int, claim_idle_ms: int
    ) -> list[tuple[bytes, bytes | None]]:
        """Entries for ``consumer``: its own pending ones, then abandoned ones, then new ones."""
        with self.backend.guarded():
            try:
                return self._read(consumer, count=count, block_ms=block_ms, idle=claim_idle_ms)
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # Redis came back without the stream (no persistence): start the group again.
                self._group_ready = False
                return []

    def _read(
        self, consumer: str, *, count: int, block_ms: int, idle: int
    ) -> list[tuple[bytes, bytes | None]]:
        self._ensure_group()
        client = self.backend.client
        own = client.xreadgroup(GROUP, consumer, {self.name: "0"}, count=count)
        entries = _entries(own)
        if not entries:
            claimed = client.xautoclaim(
                self.name, GROUP, consumer, min_idle_time=idle, start_id="0-0", count=count
            )
            entries = _fields(claimed[1]) if claimed else []
        if not entries:
            reader = self._blocking_client(block_ms) if block_ms else client
            fresh = reader.xreadgroup(
                GROUP, consumer, {self.name: ">"}, count=count, block=block_ms or None
            )
            entries = _entries(fresh)
        return entries

    def ack(self, ids: Sequence[bytes]) -> None:
        if not ids:
            return
        pipe = self.backend.client.pipeline(transaction=True)
        pipe.xack(self.name, GROUP, *ids)
        pipe.xdel(self.name, *ids)
        with self.backend.guarded():
            pipe.execute()

    def backlog(self) -> int:
        """Entries not yet acknowledged (appended or pending)."""
        with self.backend.guarded():
            return int(self.backend.client.xlen(self.name))

    def oldest_age(self) -> float:
        """Seconds since the oldest entry still in the stream was appended (0 when empty):
        an entry id starts with Redis's clock in milliseconds when it was added."""
        with self.backend.guarded():
            client = self.backend.client
            first = client.xrange(self.name, count=1)
            if not first:
                return 0.0
            seconds, micros = client.time()
        entry_id = first[0][0]
        text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        added_ms = int(text.split("-")[0])
        return max(0.0, seconds + micros / 1e6 - added_ms / 1000)


def _entries(reply: object) -> list[tuple[bytes, bytes | None]]:
    # XREADGROUP answers [[stream, [(id, fields), ...]]] (RESP2) or None.
    if not reply:
        return []
    rows: list[tuple[bytes, bytes | None]] = []
    for _stream, items in reply:  # type: ignore[attr-defined]
        rows += _fields(items)
    return rows


def _fields(items: object) -> list[tuple[bytes, bytes | None]]:
    rows: list[tuple[bytes, bytes | None]] = []
    for entry_id, fields in items or []:  # type: ignore[attr-defined]
        # A pending entry deleted meanwhile comes back without fields: acknowledged, unread.
        rows.append((entry_id, fields.get(FIELD) if fields else None))
    return rows
