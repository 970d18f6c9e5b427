"""What crosses between instances for session-era requests, over the Channels layer.

A pending server-to-client request (sampling, elicitation) is registered in the shared store
with the channel its waiter listens on; the client's answer may reach any instance, which
relays it there. (A ``notifications/cancelled`` is broadcast: ``cancellation``.)
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import get_channel_layer

from mcpserver.conf import mcp_settings
from mcpserver.protocol.jsonrpc import request
from mcpserver.protocol.sse import Reply
from sessions_store.store import get_store
from tools.errors import ToolError


def _pending_key(tenant_id: int, session_id: str, request_id: Any) -> str:
    return f"mcp:pending:{tenant_id}:{session_id}:{request_id}"


def asker(
    tenant_id: int, session_id: str, reply: Reply
) -> Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]:
    """Send server-to-client requests on ``reply``'s stream and wait for their answers."""

    async def ask(method: str, params: dict[str, Any]) -> dict[str, Any]:
        layer = get_channel_layer()
        if layer is None or not reply.accepts_sse:
            raise ToolError("This request cannot ask the client: it does not accept a stream.")
        timeout = float(mcp_settings.CLIENT_REQUEST_TIMEOUT)
        channel = await layer.new_channel()
        request_id = f"srv-{secrets.token_urlsafe(12)}"
        store = get_store()
        key = _pending_key(tenant_id, session_id, request_id)
        await store.aset_json(key, {"channel": channel}, ttl=timeout)
        try:
            await reply.push(request(request_id, method, params))
            try:
                answer = await asyncio.wait_for(layer.receive(channel), timeout=timeout)
            except TimeoutError:
                raise ToolError("The client did not answer in time.") from None
        finally:
            await store.adelete(key)
        if "error" in answer:
            raise ToolError("The client declined the request.")
        result = answer.get("result")
        return result if isinstance(result, dict) else {}

    return ask


async def deliver_answer(tenant_id: int, session_id: str, message: dict[str, Any]) -> None:
    """Relay a client's answer to the instance waiting for it (unknown ids are dropped)."""
    request_id = message.get("id")
    if not isinstance(request_id, str) or len(request_id) > 64:
        return
    pending = await get_store().aget_json(_pending_key(tenant_id, session_id, request_id))
    layer = get_channel_layer()
    if not isinstance(pending, dict) or layer is None:
        return
    relayed: dict[str, Any] = {"type": "mcp.answer"}
    if "error" in message:
        relayed["error"] = message["error"]
    else:
        relayed["result"] = message.get("result")
    await layer.send(str(pending["channel"]), relayed)
