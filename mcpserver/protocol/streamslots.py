"""Event streams held open on the Channels layer: admission, group membership, waiting.

A stream (``subscriptions/listen``, a legacy GET) costs a task, a socket and a member in the
tenant's Channels-layer group for as long as the client keeps it. So:

- a process admits at most ``STREAMS_PER_PROCESS`` streams, and ``STREAMS_PER_TENANT`` for one
  tenant (so one tenant cannot take them all); one more is refused with 503, ``Retry-After``
  and a JSON-RPC error, before any header of a stream is sent. 503 rather than 429: the
  limit protects the process, not a quota the caller used up, and another instance behind
  the balancer may well have room;
- the membership is refreshed every keep-alive, so the layer's ``group_expiry`` can be short
  and a process that dies holding streams leaves members that expire within it;
- the member is always discarded when the stream ends, whatever ended it (the client left,
  the task was cancelled twice, Redis refused): the discard is shielded from cancellation and
  a failure is logged, never raised over the stream's own outcome;
- one receive waits across keep-alives instead of being cancelled and restarted every tick.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from channels.layers import get_channel_layer

from mcpserver.conf import mcp_settings
from mcpserver.errors import StreamLimitReached
from tools.events import tenant_group

logger = logging.getLogger("mcpserver.protocol")

# Streams end and start all the time; a client told to come back after this finds room soon.


@dataclass
class _Slots:
    """Streams open in this process, in all and per tenant (one event loop: no lock needed)."""

    total: int = 0
    per_tenant: dict[int, int] = field(default_factory=dict)

    def take(self, tenant_id: int) -> None:
        held = self.per_tenant.get(tenant_id, 0)
        if self.total >= int(mcp_settings.STREAMS_PER_PROCESS):
            raise StreamLimitReached()
        if held >= int(mcp_settings.STREAMS_PER_TENANT):
            raise StreamLimitReached(
                "Server busy: too many open streams for this tenant; retry later"
            )
        self.total += 1
        self.per_tenant[tenant_id] = held + 1

    def give_back(self, tenant_id: int) -> None:
        self.total -= 1
        left = self.per_tenant[tenant_id] - 1
        if left:
            self.per_tenant[tenant_id] = left
        else:
            del self.per_tenant[tenant_id]


slots = _Slots()


class TenantStream:
    """One admitted stream: a slot, a channel in the tenant's group, a pending receive."""

    def __init__(self, tenant_id: int) -> None:
        self.tenant_id = tenant_id
        self.group = tenant_group(tenant_id)
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self._receive: asyncio.Future[dict[str, Any]] | None = None
        self.tick = float(mcp_settings.STREAM_KEEPALIVE)
        expiry = getattr(self.layer, "group_expiry", None)
        if expiry:
            # Refreshed well inside the expiry, so a live member never lapses.
            self.tick = min(self.tick, float(expiry) / 3)

    async def _join(self) -> None:
        if self.layer is not None and self.channel is not None:
            await self.layer.group_add(self.group, self.channel)

    async def next(self) -> dict[str, Any] | None:
        """The next announcement, or None when a keep-alive is due (membership refreshed)."""
        if self.layer is None or self.channel is None:
            await asyncio.sleep(self.tick)
            return None
        if self._receive is None:
            self._receive = asyncio.ensure_future(self.layer.receive(self.channel))
        done, _ = await asyncio.wait({self._receive}, timeout=self.tick)
        if not done:
            await self._join()
            return None
        received, self._receive = self._receive, None
        return received.result()

    async def close(self) -> None:
        try:
            if self._receive is not None:
                # Not waited for: leaving the group must not depend on how fast a pop unwinds.
                self._receive.add_done_callback(_retrieve)
                self._receive.cancel()
            if self.layer is not None and self.channel is not None:
                # Shielded: a second cancellation (server shutdown) must not skip it.
                await asyncio.shield(self.layer.group_discard(self.group, self.channel))
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 (the member expires with the group; say so)
            logger.warning("leaving the tenant's stream group failed; it expires on its own")
        finally:
            slots.give_back(self.tenant_id)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not report it as lost


async def open_tenant_stream(tenant_id: int) -> TenantStream:
    """Admit a stream and join the tenant's group; StreamLimitReached when there is no room."""
    slots.take(tenant_id)
    stream = TenantStream(tenant_id)
    try:
        if stream.layer is not None:
            stream.channel = await stream.layer.new_channel()
            await stream._join()
    except BaseException:
        await stream.close()
        raise
    return stream
