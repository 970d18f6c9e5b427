"""Streams that stay open: ``subscriptions/listen`` (stateless) and the session GET stream.

Both relay the tenant's announcements (list changes, resource updates), which may originate
on any instance: the stream joins the tenant's group on the Channels layer while it lives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcpserver.conf import mcp_settings
from mcpserver.eras import META_SUBSCRIPTION_ID
from mcpserver.errors import InvalidParams
from mcpserver.protocol import streamslots
from mcpserver.protocol.http import Exchange, send_chunk, start_stream
from mcpserver.protocol.jsonrpc import Message, dumps, notification
from mcpserver.protocol.sse import event

# Returns the SSE data for an announcement, or None when this stream does not want it.
Deliver = Callable[[str, dict[str, Any]], Awaitable[bytes | None]]

LISTEN_FILTERS = {
    "toolsListChanged": "notifications/tools/list_changed",
    "promptsListChanged": "notifications/prompts/list_changed",
    "resourcesListChanged": "notifications/resources/list_changed",
}


def _listened_uris(wanted: dict[str, Any]) -> list[str] | None:
    uris = wanted.get("resourceSubscriptions")
    if not isinstance(uris, list):
        return None
    kept = [u for u in uris if isinstance(u, str) and len(u) <= int(mcp_settings.MAX_URI_LENGTH)]
    if len(kept) > int(mcp_settings.MAX_SUBSCRIPTIONS):
        raise InvalidParams("Invalid params: too many resource subscriptions")
    return kept


async def listen(exchange: Exchange, message: Message) -> None:
    wanted = (message.params or {}).get("notifications")
    if not isinstance(wanted, dict):
        raise InvalidParams("Invalid params: notifications must be an object")
    accepted: dict[str, Any] = {k: True for k in LISTEN_FILTERS if wanted.get(k) is True}
    uris = _listened_uris(wanted)
    if uris is not None:
        accepted["resourceSubscriptions"] = uris
    subscription_id = str(message.id)
    methods = {LISTEN_FILTERS[k] for k in LISTEN_FILTERS if k in accepted}
    watched = set(uris or [])
    tag = {"_meta": {META_SUBSCRIPTION_ID: subscription_id}}

    async def deliver(method: str, params: dict[str, Any]) -> bytes | None:
        if method in methods or (
            method == "notifications/resources/updated" and params.get("uri") in watched
        ):
            return dumps(notification(method, {**params, **tag}))
        return None

    ack = notification(
        "notifications/subscriptions/acknowledged", {"notifications": accepted, **tag}
    )
    await relay_announcements(exchange, [event(dumps(ack))], deliver)


async def relay_announcements(exchange: Exchange, first: list[bytes], deliver: Deliver) -> None:
    """Hold an SSE stream open, relaying the tenant's announcements until the client leaves.

    Admission comes first: past the process's or the tenant's stream limit this raises
    ``StreamLimitReached`` (503) before any header is sent.
    """
    stream = await streamslots.open_tenant_stream(exchange.tenant_id)
    exchange.on_stream(None)  # the client leaving ends it
    exchange.observed.stream = True  # counted when it ends, never timed
    try:
        await start_stream(exchange.send)
        for chunk in first:
            await send_chunk(exchange.send, chunk)
        if not first:  # an empty chunk makes daphne write the headers now, not at the 1st event
            await send_chunk(exchange.send, b"")
        while True:
            msg = await stream.next()
            if msg is None:
                await send_chunk(exchange.send, b": keep-alive\n\n")
                continue
            data = await deliver(str(msg.get("method", "")), dict(msg.get("params") or {}))
            if data is not None:
                await send_chunk(exchange.send, event(data))
    finally:
        await stream.close()
