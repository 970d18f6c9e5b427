"""The Channels consumer at ``/mcp/<slug>``: thin; the protocol lives in ``endpoint``.

Departures from ``AsyncHttpConsumer``'s defaults, for streaming and for the hot path:
- the body is capped while it arrives (413 as soon as ``Content-Length`` or the bytes read
  pass ``MCP_SERVER["MAX_REQUEST_BYTES"]``), and the rest is never read;
- a response that stays open (SSE) starts a watcher on the client's messages, so a client
  that closes its stream (``http.disconnect``) cancels the request it was waiting for;
- no channel of its own (streams that need the Channels layer open one), no ORM connection
  sweep per message (nothing here uses the ORM outside ``database_sync_to_async``, which
  sweeps itself), and the consumer returns as soon as its answer is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer

from mcpserver.conf import mcp_settings
from mcpserver.context import request_headers
from mcpserver.errors import InternalError, PayloadTooLarge
from mcpserver.protocol import endpoint
from mcpserver.protocol.http import Exchange, send_error

logger = logging.getLogger("mcpserver.protocol")


def max_body() -> int:
    return int(mcp_settings.MAX_REQUEST_BYTES)


class McpConsumer(AsyncHttpConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._size = 0
        self._watcher: asyncio.Task[None] | None = None
        self._client_left = False
        self._request_task: asyncio.Task[Any] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # AsyncConsumer.__call__ races the client's messages against a channel layer with
        # fresh tasks per message; with no channel of our own a plain loop does the same.
        self.scope = scope
        self.base_send = send
        self.channel_layer = None
        self._receive = receive
        try:
            while True:
                message = await receive()
                if message["type"] == "http.request":
                    await self.http_request(message)
                elif message["type"] == "http.disconnect":
                    return
        except StopConsumer:
            pass

    async def http_request(self, message: dict[str, Any]) -> None:
        if not self.body and self._size == 0:
            length = request_headers(self.scope).get("content-length", "")
            if length.isdigit() and int(length) > max_body():
                await self._refuse()
        chunk = message.get("body", b"")
        self._size += len(chunk)
        if self._size > max_body():
            await self._refuse()
        self.body.append(chunk)
        if message.get("more_body"):
            return
        try:
            await self.handle(b"".join(self.body))
        except asyncio.CancelledError:
            if not self._client_left:
                raise
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
        except Exception:
            logger.exception("MCP request failed")
            await self._internal_error()
        finally:
            if self._watcher is not None:
                self._watcher.cancel()
        raise StopConsumer()

    async def _refuse(self) -> None:
        await send_error(self.send, PayloadTooLarge())
        raise StopConsumer()

    async def _internal_error(self) -> None:
        # If the response had already started there is nothing more to tell the client.
        with contextlib.suppress(Exception):
            await send_error(self.send, InternalError())

    def watch_disconnect(self, carry_on: Callable[[], bool] | None = None) -> None:
        """For a response that stays open: the client leaving cancels this request, unless
        ``carry_on()`` says it goes on without the client (a resumable 2025-11-25 stream).

        The task cancelled is the consumer's own (the one answering this HTTP request), even
        when a stream is opened from the request's work, which runs in a task of its own
        (``answering``): the consumer decides what the work's fate is.
        """
        if self._watcher is None:
            self._watcher = asyncio.ensure_future(self._watch(self._request_task, carry_on))

    async def _watch(
        self, request_task: asyncio.Task[Any] | None, carry_on: Callable[[], bool] | None
    ) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self._client_left = True
                if carry_on is not None and carry_on():
                    return
                if request_task is not None:
                    request_task.cancel()
                return

    async def handle(self, body: bytes) -> None:
        self._request_task = asyncio.current_task()
        # base_send: the consumer's send only forwards to it, one more await per message.
        exchange = Exchange(self.scope, self.base_send, on_stream=self.watch_disconnect)
        await endpoint.handle(exchange, self.scope.get("method", ""), body)
