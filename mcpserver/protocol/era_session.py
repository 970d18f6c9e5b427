"""POST, GET and DELETE in the session era (2025-11-25 and older).

``initialize`` creates a session in the shared store and names it in ``Mcp-Session-Id``;
every later request names it, and may land on any instance.
"""

from __future__ import annotations

import secrets
from typing import Any

from mcpserver.conf import mcp_settings
from mcpserver.eras import SESSION_DEFAULT_VERSION, SESSION_VERSIONS, Era
from mcpserver.errors import (
    InvalidParams,
    InvalidRequest,
    MethodNotAllowed,
    MethodNotFound,
    NotAcceptable,
    SessionNotFound,
    SessionRequired,
)
from mcpserver.observability.series import observe_legacy_session
from mcpserver.protocol import cancellation, dispatcher, relay, resume, sessions, streams
from mcpserver.protocol.answering import notifier, run
from mcpserver.protocol.http import Exchange
from mcpserver.protocol.jsonrpc import Message, dumps, notification, result_message
from mcpserver.protocol.sse import Reply
from sessions_store.errors import StoreUnavailable


def _check_version(exchange: Exchange) -> str:
    version = exchange.headers.get("mcp-protocol-version")
    if version is None:
        return SESSION_DEFAULT_VERSION
    if version not in SESSION_VERSIONS:
        raise InvalidRequest(f"Unsupported MCP-Protocol-Version: {version}")
    return version


async def _session(exchange: Exchange) -> tuple[str, dict[str, Any]]:
    session_id = exchange.headers.get("mcp-session-id")
    if not session_id:
        raise SessionRequired()
    session = await sessions.load(exchange.tenant_id, session_id, exchange.principal)
    if session is None:
        raise SessionNotFound()
    return session_id, session


async def post(exchange: Exchange, message: Message) -> None:
    if message.method == "initialize" and message.kind == "request":
        await _initialize(exchange, message)
        return
    _check_version(exchange)
    session_id, session = await _session(exchange)
    tenant_id = exchange.tenant_id
    if message.kind == "response":
        await relay.deliver_answer(tenant_id, session_id, message.raw)
        await exchange.respond(202)
        return
    if message.kind == "notification":
        if message.method == "notifications/cancelled":
            await cancellation.cancel(tenant_id, exchange.principal, message.params, session_id)
        await exchange.respond(202)
        return
    if not dispatcher.knows(message.method, Era.SESSION):
        raise MethodNotFound(f"Method not found: {message.method}")
    before = dict(session)
    sessions.touch(session)
    stream = sessions.new_stream_id(session_id)
    reply = Reply(
        exchange.send,
        accepts_sse=exchange.accepts("text/event-stream"),
        log=sessions.stream_logger(tenant_id, stream),
        on_stream=exchange.on_stream,
        # 2025-11-25 streams are resumable (SEP-1699): primed, and closed early if need be.
        prime=session.get("version") == SESSION_VERSIONS[0],
        wake=resume.waker(tenant_id, stream),
    )
    call = exchange.call(
        message,
        Era.SESSION,
        session=session,
        notify=notifier(reply),
        ask=relay.asker(tenant_id, session_id, reply),
        detach=reply.detach,
    )

    async def save_changes() -> None:
        if session != before:
            await sessions.save(tenant_id, session_id, session)

    poll = mcp_settings.SSE_POLL_CLOSE_AFTER
    await run(
        call,
        reply,
        key=cancellation.request_key(tenant_id, exchange.principal, message.id, session_id),
        before_answer=save_changes,
        poll_after=float(poll) if poll and reply.resumable else None,
    )


async def _initialize(exchange: Exchange, message: Message) -> None:
    params = message.params or {}
    caps = params.get("capabilities")
    if not isinstance(params.get("protocolVersion"), str) or not isinstance(caps, dict):
        raise InvalidParams("Invalid params: protocolVersion and capabilities are required")
    result = await dispatcher.dispatch(exchange.call(message, Era.SESSION))
    session_id = secrets.token_urlsafe(24)
    await sessions.save(
        exchange.tenant_id,
        session_id,
        sessions.new_session(
            exchange.principal, result["protocolVersion"], caps, params.get("clientInfo")
        ),
        strict=True,
    )
    observe_legacy_session(tenant=exchange.tenant.slug, event="created")
    await exchange.respond(
        200, result_message(message.id, result), [(b"mcp-session-id", session_id.encode())]
    )


async def get(exchange: Exchange) -> None:
    if "mcp-session-id" not in exchange.headers:
        raise MethodNotAllowed("POST")
    if not exchange.accepts("text/event-stream"):
        raise NotAcceptable()
    exchange.observed.message(Era.SESSION.value, "stream")
    session_id, _session_state = await _session(exchange)
    tenant_id = exchange.tenant_id
    last = exchange.headers.get("last-event-id")
    if last:
        resumption = await resume.locate(tenant_id, session_id, last)
        if resumption is not None:
            await resume.relay(exchange, resumption)
            return

    async def deliver(method: str, params: dict[str, Any]) -> bytes | None:
        if method == "notifications/resources/updated":
            try:
                current = await sessions.load(tenant_id, session_id, exchange.principal)
            except StoreUnavailable:  # its subscriptions are unknown for now: drop the update
                return None
            if current is None or params.get("uri") not in (current.get("subscriptions") or []):
                return None
        return dumps(notification(method, params))

    await streams.relay_announcements(exchange, [], deliver)


async def delete(exchange: Exchange) -> None:
    session_id = exchange.headers.get("mcp-session-id")
    if not session_id:
        raise MethodNotAllowed("POST")
    if await sessions.load(exchange.tenant_id, session_id, exchange.principal) is None:
        raise SessionNotFound()
    await sessions.end(exchange.tenant_id, session_id)
    observe_legacy_session(tenant=exchange.tenant.slug, event="ended")
    await exchange.respond(204)
