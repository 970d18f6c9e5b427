"""An in-process stand-in for ``sessions_store.store.Store`` (same interface, one process only).

Used only while the shared store is not installed; it has no Redis tier and no broadcast, so it
cannot show cross-instance behaviour.
"""

import json
import threading
import time
from collections.abc import Iterable
from typing import Any


class StandInStore:
    def __init__(self) -> None:
        self._data: dict[str, tuple[float, bytes, tuple[str, ...]]] = {}
        self._groups: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[0] <= time.monotonic():
            self.delete(key)
            return None
        return item[1]

    def set(self, key: str, value: bytes, *, ttl: float, groups: Iterable[str] = ()) -> None:
        if ttl <= 0:
            return
        groups = tuple(groups)
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, value, groups)
            for group in groups:
                self._groups.setdefault(group, set()).add(key)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def get_json(self, key: str) -> Any | None:
        raw = self.get(key)
        return None if raw is None else json.loads(raw)

    def set_json(self, key: str, value: Any, *, ttl: float, groups: Iterable[str] = ()) -> None:
        self.set(key, json.dumps(value, separators=(",", ":")).encode(), ttl=ttl, groups=groups)

    def delete_group(self, group: str) -> int:
        with self._lock:
            keys = self._groups.pop(group, set())
            return sum(self._data.pop(key, None) is not None for key in keys)

    async def aget(self, key: str) -> bytes | None:
        return self.get(key)

    async def aset(self, key: str, value: bytes, *, ttl: float, groups: Iterable[str] = ()) -> None:
        self.set(key, value, ttl=ttl, groups=groups)

    async def adelete(self, key: str) -> None:
        self.delete(key)

    async def aget_json(self, key: str) -> Any | None:
        return self.get_json(key)

    async def aset_json(
        self, key: str, value: Any, *, ttl: float, groups: Iterable[str] = ()
    ) -> None:
        self.set_json(key, value, ttl=ttl, groups=groups)

    async def adelete_group(self, group: str) -> int:
        return self.delete_group(group)


_store = StandInStore()


def get_store() -> StandInStore:
    return _store
