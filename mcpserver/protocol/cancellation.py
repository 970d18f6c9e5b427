"""Requests in flight that a client's ``notifications/cancelled`` stops, on whichever instance.

Both eras. The cancellation is a POST of its own and may land on any instance, so:

- every request being answered is kept in this process's registry, keyed by tenant, principal,
  session (empty in 2026-07-28) and request id, for exactly as long as it runs; the registry
  is bounded (``CANCELLABLE_REQUESTS``): past it a request still runs, only not cancellable by
  notification (closing its stream still cancels it);
- a cancellation acts on this process's registry and is broadcast on the Channels layer to
  every other instance, each of which listens on one group (one listener per process and
  event loop, started with the first request it serves), and acts on its own registry;
- the key carries the principal's fingerprint: another principal's cancellation, naming the
  same id, matches nothing and is ignored;
- a cancellation that overtakes its request (two POSTs on two connections) is remembered for
  ``EARLY_WINDOW`` seconds, and the request is cancelled as it registers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from channels.layers import get_channel_layer

from mcpserver.conf import mcp_settings
from mcpserver.process import process_state
from tenants.principal import Principal

logger = logging.getLogger("mcpserver.protocol")

GROUP = "mcp-cancellations"
# Long enough for two POSTs of one client to be reordered on their way; short enough that a
# later request reusing the id is not caught by a cancellation meant for an earlier one.
EARLY_WINDOW = 2.0
EARLY_LIMIT = 1000

Key = tuple[int, str, str, str]


@dataclass(eq=False)
class InFlight:
    """One registered request: its task, and whether a client's cancellation stopped it."""

    key: Key
    task: asyncio.Task[Any]
    cancelled: bool = False

    def cancel(self) -> None:
        if not self.task.done():
            self.cancelled = True
            self.task.cancel()

    def release(self) -> None:
        """No longer cancellable (the answer is being written)."""
        _forget(self)


@dataclass
class _Listener:
    loop: asyncio.AbstractEventLoop
    task: asyncio.Task[None] | None = None
    channel: str = ""
    joined: asyncio.Event = field(default_factory=asyncio.Event)


_running: dict[Key, set[InFlight]] = process_state.cache("cancellation.running")
_count = process_state.counter("cancellation.count")
_early = process_state.ordered("cancellation.early")
_listeners: dict[str, _Listener] = process_state.cache("cancellation.listener")
_origin = process_state.slot("cancellation.origin", lambda: secrets.token_hex(8))


def request_key(
    tenant_id: int, principal: Principal, request_id: Any, session_id: str | None = None
) -> Key | None:
    """The registry key, or None for an id no cancellation can name (absent, bool, too long)."""
    if isinstance(request_id, bool) or not isinstance(request_id, (str, int)):
        return None
    if isinstance(request_id, str) and len(request_id) > 128:
        return None
    # As JSON, the ids 1 and "1" stay apart, as JSON-RPC keeps them (an int's JSON is its str).
    ident = str(request_id) if type(request_id) is int else json.dumps(request_id)
    return (tenant_id, principal.fingerprint, session_id or "", ident)


def register(
    key: Key | None, task: asyncio.Task[Any], *, until_done: bool = True
) -> InFlight | None:
    """Make ``task`` cancellable by notification until it ends (it leaves on its own), or,
    with ``until_done=False``, until the caller releases the entry (a task that goes on to
    other work: the request's own)."""
    if key is None:
        return None
    _ensure_listener()
    if _count["in_flight"] >= int(mcp_settings.CANCELLABLE_REQUESTS):
        logger.warning("too many requests in flight to track for cancellation")
        return None
    entry = InFlight(key, task)
    _running.setdefault(key, set()).add(entry)
    _count["in_flight"] += 1
    if until_done:
        task.add_done_callback(lambda _task: _forget(entry))
    if _early_cancel_pending(key):
        # Once the task has started: cancelled before its first step, it could not tell.
        asyncio.get_running_loop().call_soon(entry.cancel)
    return entry


def _forget(entry: InFlight) -> None:
    entries = _running.get(entry.key)
    if entries is not None and entry in entries:
        entries.discard(entry)
        _count["in_flight"] -= 1
        if not entries:
            del _running[entry.key]


def _early_cancel_pending(key: Key) -> bool:
    deadline = _early.pop(key, None)
    return deadline is not None and deadline > time.monotonic()


def _cancel_here(key: Key) -> int:
    entries = list(_running.get(key, ()))
    for entry in entries:
        entry.cancel()
    if not entries:
        _remember_early(key)
    return len(entries)


def _remember_early(key: Key) -> None:
    now = time.monotonic()
    while _early and (len(_early) >= EARLY_LIMIT or next(iter(_early.values())) <= now):
        _early.popitem(last=False)
    _early[key] = now + EARLY_WINDOW
    _early.move_to_end(key)


async def cancel(
    tenant_id: int, principal: Principal, params: Any, session_id: str | None = None
) -> None:
    """Act on a client's ``notifications/cancelled`` here and on every other instance."""
    request_id = params.get("requestId") if isinstance(params, dict) else None
    key = request_key(tenant_id, principal, request_id, session_id)
    if key is None:
        return
    _cancel_here(key)
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "mcp.cancel", "key": list(key), "origin": _origin.get()}
    try:
        await layer.group_send(GROUP, message)
    except Exception:  # noqa: BLE001 (a cancellation is best effort: the notification is answered)
        logger.warning("broadcasting a cancellation failed; it acted on this instance only")


def _ensure_listener() -> None:
    """One listener per process and event loop (tests run several loops in one process)."""
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    if layer is None:
        return
    current = _listeners.get("listener")
    if current is not None and current.task is not None:
        if current.loop is loop and not current.task.done():
            return
        if current.loop is not loop and not current.loop.is_closed():
            current.loop.call_soon_threadsafe(current.task.cancel)
    listener = _Listener(loop=loop)
    listener.task = loop.create_task(_listen(layer, listener))
    _listeners["listener"] = listener


async def _listen(layer: Any, listener: _Listener) -> None:
    """Receive every instance's cancellations; the membership is refreshed within its expiry."""
    tick = float(mcp_settings.STREAM_KEEPALIVE)
    expiry = getattr(layer, "group_expiry", None)
    if expiry:
        tick = min(tick, float(expiry) / 3)
    receive: asyncio.Future[dict[str, Any]] | None = None
    try:
        listener.channel = await layer.new_channel()
        await layer.group_add(GROUP, listener.channel)
        listener.joined.set()
        while True:
            if receive is None:
                receive = asyncio.ensure_future(layer.receive(listener.channel))
            done, _ = await asyncio.wait({receive}, timeout=tick)
            if not done:
                await layer.group_add(GROUP, listener.channel)
                continue
            received, receive = receive, None
            _received(received.result())
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 (the next request starts a new listener)
        logger.warning("the cancellation listener stopped; the next request restarts it")
    finally:
        if receive is not None:
            receive.cancel()
        if listener.channel:
            with contextlib.suppress(Exception):
                await asyncio.shield(layer.group_discard(GROUP, listener.channel))


def _received(message: dict[str, Any]) -> None:
    if message.get("type") != "mcp.cancel" or message.get("origin") == _origin.get():
        return
    raw = message.get("key")
    if not isinstance(raw, list) or len(raw) != 4:
        return
    tenant_id, fingerprint, session_id, request_id = raw
    key: Hashable = (tenant_id, fingerprint, session_id, request_id)
    _cancel_here(key)  # type: ignore[arg-type]


async def listening() -> None:
    """Wait until this process's listener has joined the group (tests use it)."""
    _ensure_listener()
    listener = _listeners.get("listener")
    if listener is not None:
        await asyncio.wait_for(listener.joined.wait(), 5)
