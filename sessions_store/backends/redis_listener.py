"""The revocation listener: one daemon thread per process subscribed to the invalidation channel.

While it is not subscribed the process tier is switched off and emptied, because messages sent
meanwhile are lost: serving from the process tier then could serve a revoked entry.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable

import redis

from sessions_store import metrics
from sessions_store.backends.base import NAME_SIZE, Invalidations

logger = logging.getLogger("sessions_store")

CHANNEL = b"mcp:store:invalidate"
ORIGIN_SIZE = 8
# A message: origin id | b"k" | concatenated entry names (prefix + digest, fixed size each).
ENTRY_SIZE = 2 + NAME_SIZE


def encode(origin: bytes, names: list[bytes]) -> bytes:
    return origin + b"k" + b"".join(names)


def decode(message: bytes) -> tuple[bytes, list[bytes]] | None:
    origin, kind = message[:ORIGIN_SIZE], message[ORIGIN_SIZE : ORIGIN_SIZE + 1]
    body = message[ORIGIN_SIZE + 1 :]
    if kind != b"k" or len(body) % ENTRY_SIZE:
        return None
    return origin, [body[i : i + ENTRY_SIZE] for i in range(0, len(body), ENTRY_SIZE)]


class Listener:
    def __init__(
        self,
        *,
        client: redis.Redis,
        origin: bytes,
        on_invalidate: Invalidations,
        on_state: Callable[[bool], None],
    ) -> None:
        self._client = client
        self._origin = origin
        self._on_invalidate = on_invalidate
        self._on_state = on_state
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def ensure_running(self) -> None:
        # A forked child inherits the flag but not the thread: start a new one there.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        self._pid = os.getpid()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="store-invalidations", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            pubsub = self._client.pubsub()
            try:
                pubsub.subscribe(CHANNEL)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        backoff = 0.05
                        self._on_state(True)
                    elif message["type"] == "message":
                        self._handle(message["data"])
            except (redis.RedisError, OSError):
                metrics.incr("store.listener.disconnected")
                logger.debug("store invalidation listener disconnected", exc_info=True)
            finally:
                self._on_state(False)
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 1.0)

    def _handle(self, data: bytes) -> None:
        decoded = decode(data)
        if decoded is None:
            metrics.incr("store.listener.bad_message")
            return
        origin, names = decoded
        if origin != self._origin:
            metrics.incr("store.invalidations.received")
            self._on_invalidate(names)


def new_origin() -> bytes:
    return os.urandom(ORIGIN_SIZE)
