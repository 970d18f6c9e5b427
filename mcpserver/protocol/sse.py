"""Server-sent events framing and the per-request response (JSON by default, SSE when needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from mcpserver.conf import mcp_settings
from mcpserver.errors import Headers
from mcpserver.protocol.http import Send, send_chunk, send_response, start_stream
from mcpserver.protocol.jsonrpc import dumps

# Logged as the last event of a stream whose request was cancelled after its connection was
# closed: a resumed stream ends there, with no answer. Never valid JSON, never sent.
STREAM_END = b"\0"


def event(data: bytes, *, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n".encode() if event_id else b""
    return head + b"event: message\ndata: " + data + b"\n\n"


def retry_field() -> bytes:
    """What precedes a server-initiated close (SEP-1699): when the client should reconnect."""
    return f"retry: {int(mcp_settings.SSE_RETRY_MS)}\n\n".encode()


class Reply:
    """One HTTP response for one JSON-RPC request.

    It stays a plain JSON response unless something must be sent before the final answer (a
    notification or a server-to-client request) and the client accepts event streams; then it
    becomes an SSE stream that the final answer ends. ``log`` (legacy sessions) records each
    event so a broken stream can be replayed with ``Last-Event-ID``.

    A primed, logged stream (2025-11-25) can be ``detach``-ed (SEP-1699 polling): the
    connection is closed after a ``retry`` field, and every later event, the answer included,
    is only logged (and ``wake`` tells resumed streams on any instance to read the log). Such
    a stream whose client leaves is detached the same way (``client_left``).
    """

    def __init__(
        self,
        send: Send,
        *,
        accepts_sse: bool,
        log: Callable[[bytes], Awaitable[str | None]] | None = None,
        on_stream: Callable[[Callable[[], bool] | None], None] | None = None,
        prime: bool = False,
        wake: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._send = send
        self._on_stream = on_stream
        # 2025-11-25 resumability: open the stream with an event id and no data, so a client
        # that loses the stream before the first real event can still resume it.
        self._prime = prime and log is not None
        self.accepts_sse = accepts_sse
        self._log = log
        self.streaming = False
        self.finished = False
        self._wake = wake
        # Detached: the connection is closed, events go to the log only.
        self.detached = asyncio.Event()
        # Every event so far is in the log (a failed append would be lost to a resumed stream).
        self._all_logged = True
        self._lock = asyncio.Lock()

    @property
    def resumable(self) -> bool:
        return self._prime and self.accepts_sse and self._all_logged

    async def start_stream(self) -> None:
        if not self.streaming:
            self.streaming = True
            if self._on_stream is not None:
                self._on_stream(self.client_left)
            await start_stream(self._send)
            if self._prime and self._log is not None:
                event_id = await self._logged(b"")
                if event_id is not None:
                    await send_chunk(self._send, f"id: {event_id}\ndata: \n\n".encode())

    async def _logged(self, data: bytes) -> str | None:
        event_id = await self._log(data) if self._log else None
        if event_id is None:
            self._all_logged = False
        return event_id

    async def detach(self) -> bool:
        """Close the connection before the answer, the stream resumable (SEP-1699).

        False (nothing changed) when this response cannot be resumed: not a primed and
        logged stream, an event missing from the log, or already answered.
        """
        if not self.resumable or self.finished:
            return False
        async with self._lock:
            if self.finished or self.detached.is_set():
                return not self.finished
            await self.start_stream()
            if not self._all_logged:
                return False
            # Set first: the client may leave as soon as the connection closes, and the
            # request must then go on, not be cancelled with the connection.
            self.detached.set()
            await send_chunk(self._send, retry_field(), more=False)
        return True

    def watch_client(self) -> None:
        """From now on, the client closing the connection ends this request, whether or not
        a response has started (a stream that starts later keeps that watch)."""
        if self._on_stream is not None and not self.finished:
            self._on_stream(self.client_left)

    def client_left(self) -> bool:
        """The client closed the connection before the answer. A resumable stream (primed,
        every event logged: 2025-11-25) goes on into its log, as if detached, for GET with
        ``Last-Event-ID`` on any instance: that era does not take a disconnection for a
        cancellation (``notifications/cancelled`` is). False when it cannot be resumed: the
        caller cancels the request."""
        if not self.resumable or self.finished or not self.streaming:
            return False
        self.detached.set()
        return True

    async def push(self, message: dict[str, Any]) -> bool:
        """Send a message ahead of the answer; False when this response cannot carry it."""
        if not self.accepts_sse or self.finished:
            return False
        async with self._lock:
            await self.start_stream()
            await self._event(dumps(message), more=True)
        return True

    async def _event(self, data: bytes, *, more: bool) -> None:
        event_id = await self._logged(data)
        if self.detached.is_set():
            if self._wake is not None:
                await self._wake()
            return
        await send_chunk(self._send, event(data, event_id=event_id), more=more)

    async def finish(
        self, message: dict[str, Any] | None, status: int = 200, headers: Headers | None = None
    ) -> None:
        if self.finished:
            return
        if not self.streaming and not self._lock.locked():
            # Nothing was pushed: a plain JSON answer. Marking it finished first makes any
            # push that starts meanwhile give up instead of interleaving.
            self.finished = True
            body = b"" if message is None else dumps(message)
            await send_response(self._send, status, body, headers or [])
            return
        async with self._lock:
            if self.finished:
                return
            self.finished = True
            if message is not None:
                await self._event(dumps(message), more=False)
            elif self.detached.is_set():
                await self._event(STREAM_END, more=False)
            else:
                await send_chunk(self._send, b"", more=False)
