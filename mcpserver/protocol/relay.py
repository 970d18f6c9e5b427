"""What crosses between instances for session-era requests, over the Channels layer.

A pending server-to-client request (sampling, elicitation) is registered in the shared store
with the channel its waiter listens on; the client's answer may reach any instance, which
relays it there. A ``notifications/cancelled`` is relayed the same way to the instance
running the request.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from channels.layers import get_channel_layer

from mcpserver.conf import mcp_settings
from mcpserver.protocol.jsonrpc import request
from mcpserver.protocol.sse import Reply
from sessions_store.store import get_store
from tools.errors import ToolError

T = TypeVar("T")


def _pending_key(tenant_id: int, session_id: str, request_id: Any) -> str:
    return f"mcp:pending:{tenant_id}:{session_id}:{request_id}"


def _running_key(tenant_id: int, session_id: str, request_id: Any) -> str:
    # json.dumps keeps the request ids 1 and "1" apart, as JSON-RPC does.
    return f"mcp:running:{tenant_id}:{session_id}:{json.dumps(request_id)}"


def _cancelled_key(tenant_id: int, session_id: str, request_id: Any) -> str:
    return f"mcp:cancelled:{tenant_id}:{session_id}:{json.dumps(request_id)}"


# A request still running after this long can be cancelled from any instance; quicker ones
# finish before a cancellation could reach them, and pay nothing for the possibility.
CANCELLABLE_AFTER = 0.05


class RequestCancelled(Exception):
    """The client cancelled the request (notifications/cancelled): it expects no answer."""


async def run_cancellable(
    tenant_id: int, session_id: str, request_id: Any, work: Awaitable[T]
) -> T:
    """Run ``work``; a ``notifications/cancelled`` for it, on any instance, cancels it."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=CANCELLABLE_AFTER)
    layer = get_channel_layer()
    if done or layer is None:
        return await task
    channel = await layer.new_channel()
    store = get_store()
    key = _running_key(tenant_id, session_id, request_id)
    await store.aset_json(key, {"channel": channel}, ttl=float(mcp_settings.SESSION_TTL))
    # A cancellation that arrived before the request was registered left a mark: written
    # before the canceller looks for the registration, read here after writing it, so one
    # side always sees the other.
    if await store.aget_json(_cancelled_key(tenant_id, session_id, request_id)) is not None:
        task.cancel()

    async def listen() -> None:
        message = await layer.receive(channel)
        if message.get("type") == "mcp.cancel":
            task.cancel()

    listener = asyncio.ensure_future(listen())
    try:
        await asyncio.wait({task})
    except asyncio.CancelledError:  # the client left: stop the work too
        task.cancel()
        raise
    finally:
        listener.cancel()
        await store.adelete(key)
    if task.cancelled():
        raise RequestCancelled()
    return task.result()


async def deliver_cancel(tenant_id: int, session_id: str, params: Any) -> None:
    """Relay a client's ``notifications/cancelled`` to the instance running that request."""
    request_id = params.get("requestId") if isinstance(params, dict) else None
    if isinstance(request_id, bool) or not isinstance(request_id, (str, int)):
        return
    if isinstance(request_id, str) and len(request_id) > 128:
        return
    store = get_store()
    await store.aset_json(_cancelled_key(tenant_id, session_id, request_id), 1, ttl=60.0)
    running = await store.aget_json(_running_key(tenant_id, session_id, request_id))
    layer = get_channel_layer()
    if isinstance(running, dict) and layer is not None:
        await layer.send(str(running["channel"]), {"type": "mcp.cancel"})


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
