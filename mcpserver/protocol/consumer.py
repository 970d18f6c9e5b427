"""The Channels consumer at ``/mcp/<slug>``: thin; the protocol lives in ``endpoint``.

Two departures from ``AsyncHttpConsumer``'s defaults, both for streaming:
- the body is capped while it arrives (413 as soon as ``Content-Length`` or the bytes read
  pass ``MCP_SERVER["MAX_REQUEST_BYTES"]``), so an oversized body is never read whole;
- ``handle()`` runs as a task, so the consumer keeps listening: a client that closes its
  stream (``http.disconnect``) cancels the request it was waiting for.
The consumer asks for no channel of its own: streams that need the Channels layer open one.
Nor does it close stale ORM connections per message (see ``dispatch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer

from mcpserver.protocol import endpoint
from mcpserver.protocol.errors import McpError, translate
from mcpserver.protocol.jsonrpc import dumps, error_message

logger = logging.getLogger("mcpserver.protocol")


class PayloadTooLarge(McpError):
    jsonrpc_code = -32600
    http_status = 413
    default_message = "Request body too large"
    transport = True


class McpConsumer(AsyncHttpConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._size = 0
        self._refused = False
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # AsyncConsumer.__call__ looks up a channel layer and races the client's messages
        # against it with fresh tasks per message; this endpoint has no channel of its own,
        # so a plain receive loop does the same work for a fraction of the cost per request.
        self.scope = scope
        self.base_send = send
        self.channel_layer = None
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict[str, Any]) -> None:
        # AsyncConsumer.dispatch closes stale ORM connections (a thread hop) before every
        # message; nothing here touches the ORM outside database_sync_to_async, which does
        # that itself, so the hot path skips it.
        kind = message.get("type")
        if kind == "http.request":
            await self.http_request(message)
        elif kind == "http.disconnect":
            await self.http_disconnect(message)

    async def http_request(self, message: dict[str, Any]) -> None:
        if self._refused:
            return
        if not self.body and self._size == 0:
            declared = dict(self.scope.get("headers") or ()).get(b"content-length", b"0")
            if declared.isdigit() and int(declared) > endpoint.max_body():
                await self._refuse()
                return
        chunk = message.get("body", b"")
        self._size += len(chunk)
        if self._size > endpoint.max_body():
            await self._refuse()
            return
        self.body.append(chunk)
        if not message.get("more_body"):
            self._task = asyncio.ensure_future(self._handle_safely(b"".join(self.body)))

    async def _refuse(self) -> None:
        self._refused = True
        error, status = translate(PayloadTooLarge())
        await self.send_response(
            status,
            dumps(error_message(None, error)),
            headers=[(b"content-type", b"application/json")],
        )

    async def _handle_safely(self, body: bytes) -> None:
        try:
            await self.handle(body)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("MCP request failed")
            with contextlib.suppress(Exception):
                error, status = translate(RuntimeError())
                await self.send_response(status, dumps(error_message(None, error)))

    async def handle(self, body: bytes) -> None:
        request = endpoint.Request(self.scope, self.send)
        method = self.scope.get("method", "")
        if method == "POST":
            await endpoint.post(request, body)
        elif method == "GET":
            await endpoint.get(request)
        elif method == "DELETE":
            await endpoint.delete(request)
        else:
            await request.respond(405, None, [(b"allow", b"GET, POST, DELETE")])

    async def disconnect(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def http_disconnect(self, message: dict[str, Any]) -> None:
        await self.disconnect()
        raise StopConsumer()
