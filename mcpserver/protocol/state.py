"""Where the endpoint keeps shared state: the sessions_store, reached only through here.

Legacy sessions, resumable stream logs and pending server-to-client requests live in the
shared store (``sessions_store.store.get_store()``), never in one process's memory, so any
instance can answer any request. Until that store is installed in this checkout, a clearly
named in-process stand-in with the same interface takes its place (single-process only).
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from typing import Any, Protocol, cast

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mcpserver.conf import mcp_settings


class SharedStore(Protocol):
    async def aget_json(self, key: str) -> Any | None: ...
    async def aset_json(self, key: str, value: Any, *, ttl: float) -> None: ...
    async def adelete(self, key: str) -> None: ...
    async def alog_append(self, stream: str, data: bytes, *, ttl: float) -> str: ...
    async def alog_read(
        self, stream: str, *, after: str | None = None
    ) -> list[tuple[str, bytes]]: ...


class SealingKeyRing(Protocol):
    def seal(self, plaintext: bytes, *, aad: bytes) -> bytes: ...
    def open(self, envelope: bytes, *, aad: bytes) -> bytes | None: ...


class InProcessStandInStore:
    """Stand-in for the shared store while it is not installed: one process only."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._logs: dict[str, tuple[float, list[tuple[str, bytes]]]] = {}
        self._max = max_entries

    async def aget_json(self, key: str) -> Any | None:
        entry = self._data.get(key)
        if entry is None or entry[0] < time.monotonic():
            self._data.pop(key, None)
            return None
        return entry[1]

    async def aset_json(self, key: str, value: Any, *, ttl: float) -> None:
        self._data[key] = (time.monotonic() + ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    async def adelete(self, key: str) -> None:
        self._data.pop(key, None)

    async def alog_append(self, stream: str, data: bytes, *, ttl: float) -> str:
        _expires, events = self._logs.get(stream, (0.0, []))
        event_id = str(len(events) + 1)
        events.append((event_id, data))
        self._logs[stream] = (time.monotonic() + ttl, events)
        return event_id

    async def alog_read(self, stream: str, *, after: str | None = None) -> list[tuple[str, bytes]]:
        expires, events = self._logs.get(stream, (0.0, []))
        if expires < time.monotonic():
            return []
        if after is None:
            return list(events)
        return [(i, d) for i, d in events if int(i) > int(after)]


class InProcessStandInKeyRing:
    """Stand-in for the store's AEAD key ring: AES-256-GCM under the first configured key."""

    def __init__(self, hex_keys: list[str]) -> None:
        keys = [bytes.fromhex(k) for k in hex_keys if len(k) == 64] or [os.urandom(32)]
        self._aead = [AESGCM(k) for k in keys]

    def seal(self, plaintext: bytes, *, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead[0].encrypt(nonce, plaintext, aad)

    def open(self, envelope: bytes, *, aad: bytes) -> bytes | None:
        for aead in self._aead:
            try:
                return aead.decrypt(envelope[:12], envelope[12:], aad)
            except Exception:  # noqa: BLE001, S112 (any failure is a refusal)
                continue
        return None


_stand_in_store: InProcessStandInStore | None = None
_stand_in_keyring: InProcessStandInKeyRing | None = None


def get_shared_store() -> SharedStore:
    global _stand_in_store
    try:
        from sessions_store.store import get_store
    except ImportError:
        if _stand_in_store is None:
            _stand_in_store = InProcessStandInStore()
        return _stand_in_store
    return cast(SharedStore, get_store())


def get_sealing_keyring() -> SealingKeyRing:
    global _stand_in_keyring
    try:
        from sessions_store.crypto import get_keyring
    except ImportError:
        if _stand_in_keyring is None:
            _stand_in_keyring = InProcessStandInKeyRing(list(mcp_settings.ENCRYPTION_KEYS))
        return _stand_in_keyring
    return cast(SealingKeyRing, get_keyring())
