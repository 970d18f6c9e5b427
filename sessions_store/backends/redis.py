"""The shared tier on Redis (through a django-redis connection pool).

Entries are plain strings with a TTL; groups are sets of entry names beside them, whose TTL
is stretched to the longest member's; event logs are streams. Writes that must stay
consistent with groups (set, delete_group) are one MULTI or one script, so a concurrent
delete_group cannot miss an entry being written, and the invalidation is published in the
same step.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import redis
import redis.asyncio as aredis
from redis.commands.core import AsyncScript

from sessions_store.backends.base import (
    ENTRY_PREFIX,
    GROUP_PREFIX,
    LOG_PREFIX,
    NAME_SIZE,
    Invalidations,
)
from sessions_store.backends.redis_batch import RoundTripBatcher
from sessions_store.backends.redis_listener import CHANNEL, Listener, encode, new_origin
from sessions_store.breaker import Breaker

# Errors that mean Redis cannot be reached (as opposed to a bad command): they open the breaker.
OUTAGE_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)

_DELETE_GROUP = """
local members = redis.call('SMEMBERS', KEYS[1])
local deleted = 0
for _, name in ipairs(members) do deleted = deleted + redis.call('DEL', name) end
redis.call('DEL', KEYS[1])
if #members > 0 then redis.call('PUBLISH', ARGV[1], ARGV[2] .. table.concat(members)) end
return deleted
"""

# SET with TTL, add to each group and stretch the group's TTL to cover it, announce the write.
# A script rather than MULTI so that "extend only" works on any Redis >= 6.2 (EXPIRE GT needs 7).
_WRITE = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local ms = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[1])
  if redis.call('PTTL', KEYS[i]) < ms then redis.call('PEXPIRE', KEYS[i], ms) end
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
"""

_REPLACE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0
"""

# Rewrites a whole stream with the same ids if nothing was appended since it was read.
_REPLACE_LOG = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last == 0 or last[1][1] ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
for i = 2, #ARGV, 2 do redis.call('XADD', KEYS[1], ARGV[i], 'd', ARGV[i + 1]) end
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisBackend:
    thread_sensitive = False

    def __init__(
        self,
        *,
        client: redis.Redis,
        async_client: Callable[[], aredis.Redis],
        process_cache_cap: float,
        breaker_cooldown: float = 1.0,
    ) -> None:
        self._client = client
        # One breaker for the sync client, every loop's async client and the listener's view.
        self.breaker = Breaker(cooldown=breaker_cooldown, probe=client.ping)
        # redis.asyncio connections belong to one event loop: one client per loop.
        self._async_client = async_client
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aredis.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self.process_cache_cap = process_cache_cap
        self._origin = new_origin()
        self._live = False
        self._live_lock = threading.Lock()
        self._listener: Listener | None = None
        self._write = client.register_script(_WRITE)
        self._delete_group = client.register_script(_DELETE_GROUP)
        self._replace = client.register_script(_REPLACE)
        self._replace_log = client.register_script(_REPLACE_LOG)
        self._on_invalidate: Invalidations | None = None
        # Scripts run by ascript (loaded once, then called by their digest on any client).
        self._scripts: dict[str, AsyncScript] = {}
        self._digests: dict[str, str] = {}
        timeout = client.connection_pool.connection_kwargs.get("socket_timeout") or 0.5
        self._batch_timeout = float(timeout)
        # One lane per event loop for every batched command of this store (entry reads,
        # rate-limit checks, journal appends): what concurrent requests send shares a round trip.
        self._batcher = RoundTripBatcher(self)

    # -- invalidations ---------------------------------------------------------------------
    def start(self, *, on_invalidate: Invalidations) -> None:
        self._on_invalidate = on_invalidate
        self._listener = Listener(
            client=self._client,
            origin=self._origin,
            on_invalidate=on_invalidate,
            on_state=self._set_live,
        )

    def _set_live(self, live: bool) -> None:
        with self._live_lock:
            changed = live != self._live
            self._live = live
        if changed and self._on_invalidate is not None:
            # Either way the process tier starts empty: messages may have been missed.
            self._on_invalidate(None)

    def process_cache_allowed(self) -> bool:
        if self._listener is not None:
            self._listener.ensure_running()
        return self._live

    async def aclose(self) -> None:
        """Closes this event loop's async connections (an event loop that is about to end)."""
        await self._batcher.aclose()
        client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
        self._live = False

    @contextlib.contextmanager
    def guarded(self) -> Iterator[None]:
        """Fail at once while the breaker is open; open it when Redis cannot be reached."""
        self.breaker.check()
        try:
            yield
        except OUTAGE_ERRORS:
            self.breaker.failed()
            raise

    # -- entries ---------------------------------------------------------------------------
    def read(self, name: bytes) -> tuple[bytes, float] | None:
        pipe = self._client.pipeline(transaction=False)
        pipe.get(name)
        pipe.pttl(name)
        with self.guarded():
            value, pttl = pipe.execute()
        if value is None or pttl == -2:
            return None
        return value, (pttl / 1000 if pttl > 0 else self.process_cache_cap)

    def async_client(self) -> aredis.Redis:
        """This event loop's async client (redis.asyncio connections belong to one loop)."""
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = self._async_clients[loop] = self._async_client()
        return client

    @property
    def client(self) -> redis.Redis:
        return self._client

    async def ascript(self, source: str, *, keys: list[str], args: list[int | float | str]) -> Any:
        """Runs a Lua script (one atomic step) on this loop's connection, behind the breaker:
        for callers beside the store that keep their own keys in the same Redis (the rate
        limiter). Raises ``StoreUnavailable`` while the breaker is open, or a Redis error."""
        client = self.async_client()
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = client.register_script(source)
        with self.guarded():
            return await script(keys=keys, args=args, client=client)

    async def ascript_batched(
        self, source: str, *, keys: list[str], args: list[int | float | str]
    ) -> Any:
        """``ascript``, sent in one pipeline with the other calls made in this event-loop tick
        (``redis_batch``): concurrent requests share a round trip, each gets its own reply.
        Bounded by the store's socket timeout; raises as ``ascript`` does."""
        digest = self._digests.get(source)
        if digest is None:
            digest = self._digests[source] = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324
        try:
            return await self.batched("EVALSHA", digest, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return await self.ascript(source, keys=keys, args=args)  # loads it, for next time

    async def batched(self, *command: Any, within: float | None = None) -> Any:
        """One command, sent with the others this event loop issues meanwhile (``redis_batch``),
        behind the breaker, answered within ``within`` seconds (default: the socket timeout)."""
        return await self._batcher.execute(*command, within=within or self._batch_timeout)

    async def aread(self, name: bytes) -> tuple[bytes, float] | None:
        # Side by side in this loop's next batch: with other requests' reads and appends.
        value, pttl = await self._batcher.execute_many(
            ("GET", name), ("PTTL", name), within=self._batch_timeout
        )
        if value is None or pttl == -2:
            return None
        return value, (pttl / 1000 if pttl > 0 else self.process_cache_cap)

    def write(self, name: bytes, envelope: bytes, *, ttl: float, groups: list[bytes]) -> None:
        with self.guarded():
            self._write(
                keys=[name, *groups],
                args=[envelope, _ms(ttl), CHANNEL, encode(self._origin, [name])],
            )

    def remove(self, name: bytes) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.delete(name)
        pipe.publish(CHANNEL, encode(self._origin, [name]))
        with self.guarded():
            pipe.execute()

    def remove_group(self, group: bytes) -> int:
        with self.guarded():
            return int(self._delete_group(keys=[group], args=[CHANNEL, encode(self._origin, [])]))

    # -- event logs ------------------------------------------------------------------------
    def log_append(self, stream: bytes, envelope: bytes, *, ttl: float) -> str:
        pipe = self._client.pipeline(transaction=True)
        pipe.xadd(stream, {b"d": envelope})
        pipe.pexpire(stream, _ms(ttl))
        with self.guarded():
            event_id, _ = pipe.execute()
        return str(event_id.decode())

    def log_read(self, stream: bytes, *, after: str | None) -> list[tuple[str, bytes]]:
        start = "-" if after is None else f"({after}"
        with self.guarded():
            rows: list[tuple[bytes, dict[bytes, bytes]]] = self._client.xrange(
                stream, min=start, max="+"
            )  # type: ignore[assignment]
        return [(event_id.decode(), fields[b"d"]) for event_id, fields in rows]

    # -- maintenance -----------------------------------------------------------------------
    def _scan(self, prefix: bytes) -> Iterator[bytes]:
        # Only our own fixed-size names: another application's "s:..." keys are not ours.
        for name in self._client.scan_iter(match=prefix + b"*", count=500):
            if len(name) == len(prefix) + NAME_SIZE:
                yield name

    def iter_entries(self) -> Iterator[tuple[bytes, bytes]]:
        for name in self._scan(ENTRY_PREFIX):
            value = self._client.get(name)
            if isinstance(value, bytes):
                yield name, value

    def replace(self, name: bytes, *, old: bytes, new: bytes) -> bool:
        return bool(self._replace(keys=[name], args=[old, new]))

    def iter_logs(self) -> Iterator[tuple[bytes, list[tuple[str, bytes]]]]:
        for stream in self._scan(LOG_PREFIX):
            events = self.log_read(stream, after=None)
            if events:
                yield stream, events

    def replace_log(
        self, stream: bytes, *, old: list[tuple[str, bytes]], new: list[tuple[str, bytes]]
    ) -> bool:
        args: list[bytes | str] = [old[-1][0]]
        for event_id, envelope in new:
            args += [event_id, envelope]
        return bool(self._replace_log(keys=[stream], args=args))

    def purge(self) -> dict[str, int]:
        """Entries and streams expire by themselves; group sets keep names of expired entries."""
        removed = 0
        for group in self._scan(GROUP_PREFIX):
            members = list(self._client.sscan_iter(group, count=500))
            if not members:
                continue
            pipe = self._client.pipeline(transaction=False)
            for member in members:
                pipe.exists(member)
            gone = [m for m, alive in zip(members, pipe.execute(), strict=True) if not alive]
            if gone:
                removed += int(self._client.srem(group, *gone))
        return {"group_members": removed}


def async_client_factory(config: dict[str, Any]) -> Callable[[], aredis.Redis]:
    """redis.asyncio clients with the same server and timeouts as the django-redis alias."""
    options = config.get("OPTIONS", {})
    location = config["LOCATION"]
    url = location[0] if isinstance(location, list | tuple) else location

    def build() -> aredis.Redis:
        # Blocking: a burst beyond the pool waits briefly for a connection instead of failing.
        pool = aredis.BlockingConnectionPool.from_url(
            url,
            socket_timeout=options.get("SOCKET_TIMEOUT"),
            socket_connect_timeout=options.get("SOCKET_CONNECT_TIMEOUT"),
            max_connections=options.get("CONNECTION_POOL_KWARGS", {}).get("max_connections", 64),
            timeout=options.get("SOCKET_TIMEOUT") or 1.0,
        )
        return aredis.Redis.from_pool(pool)  # closing the client closes its pool

    return build
