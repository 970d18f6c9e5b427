"""Change announcements (list changed, resource updated) for every listener of a tenant.

They travel on the Channels layer (channels_redis when REDIS_URL is set), so a change made on
one instance reaches listen streams held open by any other.
"""

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def tenant_group(tenant_id: int) -> str:
    return f"mcp-tenant-{tenant_id}"


async def announce(tenant_id: int, method: str, params: dict[str, Any] | None = None) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    await layer.group_send(
        tenant_group(tenant_id), {"type": "mcp.event", "method": method, "params": params or {}}
    )


# The change is committed when this runs: a hung Redis must not hold the admin page or the
# command for long (the failure is logged by the sender; clients see the change on re-list).
ANNOUNCE_TIMEOUT = 2.0


async def announce_bounded(tenant_id: int, method: str) -> None:
    """``announce``, given at most ``ANNOUNCE_TIMEOUT`` seconds; raises what it raised."""
    await asyncio.wait_for(announce(tenant_id, method), ANNOUNCE_TIMEOUT)


def announce_tools_changed(sender: Any, *, tenant_id: int, **kwargs: Any) -> None:
    """Receiver of ``tenants.signals.tools_changed`` (sent after commit, from sync code: the
    admin, a command, a service run by ``database_sync_to_async``)."""
    async_to_sync(announce_bounded)(tenant_id, "notifications/tools/list_changed")
