"""Resuming a session-era request's stream with GET and ``Last-Event-ID``, on any instance.

A request's stream is logged event by event in the shared store (``sessions.stream_logger``).
When its connection breaks, or the server closed it on purpose (SEP-1699 polling, see
``sse.Reply.detach``), the client sends GET with the last event id it saw. This sends what the
log holds after that id, then what the request (still running on this or another instance)
logs next, until its answer, which ends the stream; a request cancelled meanwhile ends it
with no answer. The instance writing the log wakes resumed streams through a Channels-layer
group named after the stream; a wake-up lost on the way only delays an event to the next
read of the log, at most ``REREAD`` seconds later. Past ``SSE_POLL_CLOSE_AFTER`` without the
answer, the resumed stream is closed with a ``retry`` field too, and the client polls again.

Event ids are the log's own, so every event keeps its id on every resumption: nothing is
sent twice to a client that resumes from the last id it saw, and nothing is skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from channels.layers import get_channel_layer

from mcpserver.conf import mcp_settings
from mcpserver.protocol import sessions, streamslots
from mcpserver.protocol.http import Exchange, send_chunk, start_stream
from mcpserver.protocol.sse import STREAM_END, event, retry_field
from sessions_store.store import get_store

logger = logging.getLogger("mcpserver.protocol")

REREAD = 1.0
WAKE_TIMEOUT = 2.0


def _group(tenant_id: int, stream: str) -> str:
    digest = hashlib.sha256(f"{tenant_id}:{stream}".encode()).hexdigest()[:40]
    return f"mcp-stream-{digest}"


def waker(tenant_id: int, stream: str) -> Callable[[], Awaitable[None]]:
    """What a detached reply calls after logging an event: resumed streams read the log."""
    group = _group(tenant_id, stream)

    async def wake() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            await asyncio.wait_for(layer.group_send(group, {"type": "mcp.logged"}), WAKE_TIMEOUT)
        except Exception:  # noqa: BLE001 (resumed streams reread the log on their own)
            logger.warning("waking resumed streams failed; they find the event on a reread")

    return wake


def _is_answer(data: bytes) -> bool:
    if data == STREAM_END:
        return True
    try:
        message = json.loads(data)
    except ValueError:
        return False
    return isinstance(message, dict) and "method" not in message and "id" in message


@dataclass
class Resumption:
    tenant_id: int
    stream: str
    after: str
    # Read already, to decide whether there is anything to resume.
    pending: list[tuple[str, bytes]]


async def locate(tenant_id: int, session_id: str, last_event_id: str) -> Resumption | None:
    """The stream ``last_event_id`` names, if it is this session's and its log is still kept."""
    stream, _, after = last_event_id.rpartition("/")
    if not stream.startswith(session_id + ".") or not after or len(last_event_id) > 256:
        return None
    store = get_store()
    key = sessions.events_key(tenant_id, stream)
    pending = await store.alog_read(key, after=after)
    if not pending and not await store.alog_read(key):
        return None  # unknown or expired
    return Resumption(tenant_id, stream, after, pending)


async def relay(exchange: Exchange, resumption: Resumption) -> None:
    """Send the rest of the stream, up to its answer (admitted like any held stream)."""
    streamslots.slots.take(resumption.tenant_id)
    layer = get_channel_layer()
    group = _group(resumption.tenant_id, resumption.stream)
    channel: str | None = None
    try:
        if layer is not None:
            channel = await layer.new_channel()
            await layer.group_add(group, channel)
        exchange.on_stream(None)  # the client leaving ends it
        await start_stream(exchange.send)
        await send_chunk(exchange.send, b"")  # the headers go out now
        await _follow(exchange, resumption, layer, channel, group)
    finally:
        if layer is not None and channel is not None:
            try:
                await asyncio.shield(layer.group_discard(group, channel))
            except Exception:  # noqa: BLE001 (the member expires with the group)
                logger.warning("leaving a resumed stream's group failed; it expires on its own")
        streamslots.slots.give_back(resumption.tenant_id)


async def _follow(
    exchange: Exchange, resumption: Resumption, layer: Any, channel: str | None, group: str
) -> None:
    store = get_store()
    key = sessions.events_key(resumption.tenant_id, resumption.stream)
    poll = mcp_settings.SSE_POLL_CLOSE_AFTER
    deadline = time.monotonic() + float(poll) if poll else None
    keepalive = float(mcp_settings.STREAM_KEEPALIVE)
    quiet_since = time.monotonic()
    last, events = resumption.after, resumption.pending
    receive: asyncio.Future[Any] | None = None
    try:
        while True:
            for event_id, data in events:
                last = event_id
                if data == STREAM_END:
                    await send_chunk(exchange.send, b"", more=False)
                    return
                if not data:  # a priming event: nothing to send again
                    continue
                framed = event(data, event_id=f"{resumption.stream}/{event_id}")
                if _is_answer(data):
                    await send_chunk(exchange.send, framed, more=False)
                    return
                await send_chunk(exchange.send, framed)
                quiet_since = time.monotonic()
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                await send_chunk(exchange.send, retry_field(), more=False)
                return
            if now - quiet_since >= keepalive:
                await send_chunk(exchange.send, b": keep-alive\n\n")
                quiet_since = now
                if layer is not None and channel is not None:
                    await layer.group_add(group, channel)  # refreshed within its expiry
            wait = REREAD if deadline is None else max(0.0, min(REREAD, deadline - now))
            if layer is not None and channel is not None:
                if receive is None:
                    receive = asyncio.ensure_future(layer.receive(channel))
                done, _ = await asyncio.wait({receive}, timeout=wait)
                if done:
                    receive = None
            else:
                await asyncio.sleep(wait)
            events = await store.alog_read(key, after=last)
    finally:
        if receive is not None:
            receive.add_done_callback(_retrieve)
            receive.cancel()


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
