"""The Channels layer between instances: channels_redis, sealed, with a bounded blocking pool.

Three departures from ``channels_redis.core.RedisChannelLayer``'s defaults:

- **Sealed messages.** What crosses Redis (answers to server-to-client requests,
  cancellations, announcements) is sealed with the store's AES-256-GCM key ring, the Redis
  queue it is written to (the channel's non-local name) as associated data, and the time it
  was sealed inside. A message moved to another queue, altered, or older than the layer's
  ``expiry`` (plus slack) is dropped, never delivered. Key rotation covers it like the store.
- **Reads outlive the blocking pop.** channels_redis waits on ``BZPOPMIN`` for
  ``brpop_timeout`` (5 s) and loops; redis-py's default ``socket_timeout`` is also 5 s, so
  every such read raced the socket timeout and a wait longer than 5 s died with
  ``TimeoutError``. The socket timeout here is always longer than the pop.
- **A bounded pool that waits.** redis-py's pool raises ``MaxConnectionsError`` past 100
  connections; a burst of streams opening or closing then fails their ``group_add`` or
  ``group_discard``. Here one ``BlockingConnectionPool`` per shard and event loop holds at most
  ``max_connections`` and makes a burst queue for up to ``pool_timeout`` seconds. Receiving
  is multiplexed by channels_redis onto one pop per process, so a connection is held only for
  the short commands of a stream's start, refresh and end, not for its whole life.

This module knows nothing of tenants or of the protocol: it carries dicts between channels.
"""

from __future__ import annotations

import contextvars
import logging
import struct
import time
from typing import Any

import msgpack
from channels_redis.core import RedisChannelLayer
from redis import asyncio as aioredis

from sessions_store import metrics
from sessions_store.crypto import get_keyring

logger = logging.getLogger("sessions_store.channel_layer")
security_log = logging.getLogger("sessions_store.security")

_ISSUED = struct.Struct(">d")
# Clock skew between instances tolerated on a sealed message's age.
_AGE_SLACK = 10.0
# The Redis queue the message being sealed or opened belongs to (set per task, see below).
_queue: contextvars.ContextVar[str] = contextvars.ContextVar("channel_layer_queue")


class SealedRedisChannelLayer(RedisChannelLayer):
    """channels_redis with sealed messages, long socket reads and a bounded blocking pool."""

    def __init__(
        self,
        *,
        hosts: list[Any] | None = None,
        max_connections: int = 50,
        pool_timeout: float = 10.0,
        socket_timeout: float | None = None,
        socket_connect_timeout: float = 2.0,
        **kwargs: Any,
    ) -> None:
        if "symmetric_encryption_keys" in kwargs:
            raise ValueError("Messages are sealed with the store's key ring; drop that option.")
        super().__init__(hosts=hosts, **kwargs)
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.max_connections = max_connections
        self.pool_timeout = pool_timeout
        # Never shorter than the blocking pop plus a margin for a loaded Redis.
        self.socket_timeout = max(socket_timeout or 0.0, self.brpop_timeout + 5.0)
        self.socket_connect_timeout = socket_connect_timeout

    # ----- connections ---------------------------------------------------------------------

    def create_pool(self, index: int) -> aioredis.ConnectionPool:
        host = dict(self.hosts[index])
        options: dict[str, Any] = {
            "max_connections": self.max_connections,
            "timeout": self.pool_timeout,
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_connect_timeout,
        }
        if "address" in host:
            address = host.pop("address")
            return aioredis.BlockingConnectionPool.from_url(address, **{**host, **options})
        if "master_name" in host:
            raise ValueError("Sentinel hosts are not supported by this layer; give a URL.")
        return aioredis.BlockingConnectionPool(**{**host, **options})

    # ----- sealing -------------------------------------------------------------------------
    # channels_redis serializes inside send(), group_send() and receive_single() without
    # saying which queue the bytes are for; the queue is recovered from the message's
    # ``__asgi_channel__`` (process-local channels, group sends) or from a context variable
    # set around the call. Context variables are per task, so concurrent sends cannot mix.

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        token = _queue.set(self.non_local_name(channel))
        try:
            await super().send(channel, message)
        finally:
            _queue.reset(token)

    async def receive_single(self, channel: str) -> tuple[Any, dict[str, Any]]:
        token = _queue.set(channel)
        try:
            while True:
                target, message = await super().receive_single(channel)
                if message:  # an empty dict is a message that failed to open
                    return target, message
        finally:
            _queue.reset(token)

    def serialize(self, message: dict[str, Any]) -> bytes:
        addressed = message.get("__asgi_channel__")
        if isinstance(addressed, list):
            addressed = addressed[0]
        queue = self.non_local_name(addressed) if isinstance(addressed, str) else _queue.get()
        plaintext = _ISSUED.pack(time.time()) + msgpack.packb(message)
        return get_keyring().seal(plaintext, aad=self._aad(queue))

    def deserialize(self, message: bytes) -> dict[str, Any]:
        plaintext = get_keyring().open(message, aad=self._aad(_queue.get()))
        if plaintext is None or len(plaintext) < _ISSUED.size:
            return {}
        (issued,) = _ISSUED.unpack_from(plaintext)
        if time.time() - issued > float(self.expiry) + _AGE_SLACK:
            metrics.incr("channel_layer.refused.stale")
            security_log.warning("channel layer message refused: stale")
            return {}
        opened = msgpack.unpackb(plaintext[_ISSUED.size :])
        return opened if isinstance(opened, dict) else {}

    def _aad(self, queue: str) -> bytes:
        return b"channel-layer\x00" + (self.prefix + queue).encode()
