"""The encrypted two-tier store: a process tier in front of a shared tier (Redis or database).

Values are sealed with the key ring under their storage name, so the shared tier only ever
holds envelopes; the process tier holds opened values for at most
``STORE_PROCESS_CACHE_TTL`` seconds, never past the entry's own expiry, and drops them when
any instance revokes them. A shared tier that fails is a miss on read and a skipped write:
callers fall back to full validation, so clients notice only latency. A caller for whom a miss
means "gone" (a legacy session) reads with ``strict=True`` and gets ``StoreUnavailable``
instead; so does a revocation that wants to know it was only held for retry.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from typing import Any, TypeVar

from django.conf import settings

from mcpserver.conf import mcp_settings
from mcpserver.process import process_state
from sessions_store import codec, metrics
from sessions_store.aio import AsyncStore, dumps_json, loads_json
from sessions_store.backends.base import Backend, entry_name, group_name, log_name
from sessions_store.crypto import get_keyring, security_log
from sessions_store.errors import StoreUnavailable
from sessions_store.failures import FailureLog, failure_types
from sessions_store.local import ProcessCache
from sessions_store.pending import GROUP, KEY, PendingRevocations

logger = logging.getLogger("sessions_store")

T = TypeVar("T")


class Store(AsyncStore):
    """The store's contract, sync; ``AsyncStore`` gives every call a coroutine twin."""

    def __init__(self, *, backend: Backend, cache: ProcessCache, failure_log_interval: float):
        self.backend = backend
        self.cache = cache
        self._failures = FailureLog(interval=failure_log_interval)
        self._errors = failure_types()
        self._pending = PendingRevocations(errors=self._errors)
        self._views: dict[str, tuple[bytes, Any]] = {}
        backend.start(on_invalidate=self._invalidate)

    def _invalidate(self, names: Iterable[bytes] | None) -> None:
        if names is None:
            # The listener (re)connected or lost its subscription.
            self.cache.clear()
            self._pending.replay(self.backend, force=True)
        else:
            self.cache.drop(names)

    def close(self) -> None:
        self.backend.close()
        self.cache.clear()

    async def aclose(self) -> None:
        """Releases the running event loop's connections; for loops that end before the process."""
        await self.backend.aclose()

    # -- bytes -----------------------------------------------------------------------------
    def get(self, key: str, *, strict: bool = False) -> bytes | None:
        name = entry_name(key)
        value = self.cache.get(name)
        if value is not None:
            metrics.incr("store.hit.process")
            return value
        if self._pending:
            self._pending.replay(self.backend)
            if self._pending:
                # Which entries a held delete_group covers only the shared tier knows: until
                # this process's held revocations are applied, nothing read there is trusted.
                metrics.incr("store.refused.pending")
                if strict:
                    raise StoreUnavailable("revocations are held for retry")
                return None
        generation = self.cache.generation
        cacheable = self.backend.process_cache_allowed()
        try:
            found = self.backend.read(name)
        except self._errors as exc:
            self._failures.record("get", exc)
            if strict:
                raise StoreUnavailable("the shared store could not be read") from exc
            return None
        return self._accept(name, found, generation=generation, cacheable=cacheable)

    def _accept(
        self, name: bytes, found: tuple[bytes, float] | None, *, generation: int, cacheable: bool
    ) -> bytes | None:
        """Opens what the shared tier returned, and caches it unless a revocation intervened."""
        if found is None:
            metrics.incr("store.miss")
            return None
        envelope, remaining = found
        opened = get_keyring().open(envelope, aad=name)
        decoded = None if opened is None else codec.decode(opened)
        if decoded is None:
            if opened is not None:
                metrics.incr("store.refused.undecodable")
            return None
        value, not_after = decoded
        if not_after:
            left = not_after - time.time()
            if left <= 0:
                # The shared tier kept it past the expiry sealed inside: tampered TTL or a copy
                # put back. Logged like any other refused envelope.
                metrics.incr("crypto.refused.expired")
                security_log.warning("sealed value refused: expired", extra={"reason": "expired"})
                return None
            remaining = min(remaining, left)
        metrics.incr("store.hit.shared")
        if cacheable:
            ttl = min(remaining, self.backend.process_cache_cap)
            self.cache.put(name, value, ttl=ttl, generation=generation)
        return value

    def set(
        self,
        key: str,
        value: bytes,
        *,
        ttl: float,
        groups: Iterable[str] = (),
        strict: bool = False,
    ) -> None:
        """Write ``value``; a shared tier that is down skips the write, or with ``strict`` raises
        ``StoreUnavailable`` (for a caller that must not hand out what was not stored)."""
        if ttl <= 0:
            self.delete(key)
            return
        if self._pending:
            self._pending.replay(self.backend)
        name = entry_name(key)
        # Whatever this process held is stale from now on, even if the write fails.
        self.cache.drop((name,))
        generation = self.cache.generation
        cacheable = self.backend.process_cache_allowed()
        not_after = math.ceil(time.time() + ttl)
        envelope = get_keyring().seal(codec.encode(value, not_after=not_after), aad=name)
        try:
            self.backend.write(
                name, envelope, ttl=ttl, groups=[group_name(group) for group in groups]
            )
        except self._errors as exc:
            self._failures.record("set", exc)
            if strict:
                raise StoreUnavailable("the shared store could not be written") from exc
            return
        kept_for = min(ttl, self.backend.process_cache_cap) if cacheable else 0.0
        # Even when not kept here, the write ends any read begun before it (written=True).
        self.cache.put(name, value, ttl=kept_for, generation=generation, written=True)

    def delete(self, key: str) -> None:
        name = entry_name(key)
        self.cache.drop((name,))
        self._pending.replay(self.backend)
        try:
            self.backend.remove(name)
        except self._errors as exc:
            self._revocation_failed("delete", exc)
            self._pending.add(KEY, name)
            return
        # Again once it is gone: a read begun before the removal must not cache what it found.
        self.cache.drop((name,))

    def delete_group(self, group: str, *, strict: bool = False) -> int:
        """How many live entries were deleted (0 if the shared tier is down: retried later).

        ``strict``: a shared tier that is down raises ``StoreUnavailable`` once the deletion
        is held for retry, so the caller can say so.
        """
        name = group_name(group)
        self._pending.replay(self.backend)
        held: BaseException | None = None
        try:
            deleted = self.backend.remove_group(name)
        except self._errors as exc:
            self._revocation_failed("delete_group", exc)
            self._pending.add(GROUP, name)
            deleted, held = 0, exc
        # The process tier does not know groups: empty it rather than risk a survivor. Other
        # instances get the exact names on the invalidation channel.
        self.cache.clear()
        if held is not None and strict:
            raise StoreUnavailable("the deletion is held for retry") from held
        return deleted

    def _revocation_failed(self, operation: str, exc: BaseException) -> None:
        # Not throttled: a revocation that did not reach the shared tier must be seen.
        metrics.incr(f"store.unavailable.{operation}")
        logger.error(
            "shared store unavailable: %s held for retry (%s)", operation, type(exc).__name__
        )

    # -- JSON ------------------------------------------------------------------------------
    def get_json(self, key: str, *, strict: bool = False) -> Any | None:
        return loads_json(self.get(key, strict=strict))

    def set_json(
        self, key: str, value: Any, *, ttl: float, groups: Iterable[str] = (), strict: bool = False
    ) -> None:
        self.set(key, dumps_json(value), ttl=ttl, groups=groups, strict=strict)

    # -- event logs ------------------------------------------------------------------------
    def log_append(self, stream: str, data: bytes, *, ttl: float) -> str:
        """Appends one event; the empty string if the shared tier is unavailable."""
        name = log_name(stream)
        try:
            envelope = get_keyring().seal(codec.encode(data), aad=name)
            return self.backend.log_append(name, envelope, ttl=ttl)
        except self._errors as exc:
            self._failures.record("log_append", exc)
            return ""

    def log_read(self, stream: str, *, after: str | None = None) -> list[tuple[str, bytes]]:
        name = log_name(stream)
        try:
            rows = self.backend.log_read(name, after=after)
        except self._errors as exc:
            self._failures.record("log_read", exc)
            return []
        keyring = get_keyring()
        events = []
        for event_id, envelope in rows:
            opened = keyring.open(envelope, aad=name)
            decoded = None if opened is None else codec.decode(opened)
            if decoded is not None:
                events.append((event_id, decoded[0]))
        return events


def build_store() -> Store:
    backend: Backend
    alias = mcp_settings.STORE_CACHE_ALIAS
    cap = float(mcp_settings.STORE_PROCESS_CACHE_TTL)
    if alias in settings.CACHES:
        from django_redis import get_redis_connection

        from sessions_store.backends.redis import RedisBackend, async_client_factory

        backend = RedisBackend(
            client=get_redis_connection(alias),
            async_client=async_client_factory(settings.CACHES[alias]),
            process_cache_cap=cap,
            breaker_cooldown=float(mcp_settings.STORE_BREAKER_COOLDOWN),
        )
    else:
        from sessions_store.backends.database import DatabaseBackend

        backend = DatabaseBackend()
    cache = ProcessCache(max_size=int(mcp_settings.STORE_PROCESS_CACHE_SIZE), ttl=cap)
    return Store(
        backend=backend,
        cache=cache,
        failure_log_interval=float(mcp_settings.STORE_FAILURE_LOG_INTERVAL),
    )


# One store (and one listener thread) per process, even if threads race to build it.
_store = process_state.slot(
    "sessions_store.store",
    build_store,
    close=Store.close,
    settings={"CACHES", "MCP_SERVER", "REDIS_URL"},
)


def get_store() -> Store:
    return _store.get()
