"""Streamable HTTP for one MCP endpoint: POST, GET and DELETE in both protocol eras.

The consumer hands every request here with the ASGI scope (already carrying ``tenant`` and
``principal`` from the authentication middleware), the body and a ``send`` callable.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from channels.layers import get_channel_layer

from mcpserver.conf import mcp_settings
from mcpserver.protocol import dispatcher, sessions
from mcpserver.protocol.errors import (
    HeaderMismatch,
    InsufficientScope,
    InvalidParams,
    InvalidRequest,
    InvalidRequestMeta,
    McpError,
    MethodNotFound,
    UnsupportedProtocolVersion,
    translate,
)
from mcpserver.protocol.jsonrpc import Message, dumps, error_message, parse, result_message
from mcpserver.protocol.sse import JSON_HEADERS, SSE_HEADERS, Reply, Send, event
from mcpserver.protocol.versions import (
    LEGACY_DEFAULT,
    LEGACY_VERSIONS,
    META_CAPABILITIES,
    META_SUBSCRIPTION_ID,
    META_VERSION,
    MODERN_VERSIONS,
    SUPPORTED_VERSIONS,
)
from tenants.auth import auditing, background
from tenants.auth.challenges import insufficient_scope_headers
from tenants.principal import Principal
from tools.events import tenant_group

logger = logging.getLogger("mcpserver.protocol")

PROTOCOL_HEADERS = frozenset(
    {
        b"accept",
        b"content-type",
        b"mcp-protocol-version",
        b"mcp-method",
        b"mcp-name",
        b"mcp-session-id",
        b"last-event-id",
    }
)
NAMED_METHODS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
LISTEN_FILTERS = {
    "toolsListChanged": "notifications/tools/list_changed",
    "promptsListChanged": "notifications/prompts/list_changed",
    "resourcesListChanged": "notifications/resources/list_changed",
}


class Request:
    """What the endpoint needs from the ASGI scope."""

    def __init__(
        self, scope: Mapping[str, Any], send: Send, on_stream: Callable[[], None] | None = None
    ) -> None:
        self.scope = scope
        self.send = send
        # Called when a response turns into a stream that stays open (SSE).
        self.on_stream = on_stream or (lambda: None)
        # Only the headers the protocol reads, decoded once (ASGI names are lowercase).
        self.headers: dict[str, str] = {
            key.decode(): value.decode("latin-1")
            for key, value in scope.get("headers") or ()
            if key in PROTOCOL_HEADERS
        }
        self.principal: Principal = scope["principal"]
        tenant = scope["tenant"]
        self.tenant_id: int = tenant.id
        self.toolsets: tuple[str, ...] = tuple(tenant.enabled_toolsets or ())
        self.tenant = tenant

    def accepts(self, media: str) -> bool:
        accept = self.headers.get("accept", "")
        return media in accept or "*/*" in accept

    async def respond(
        self,
        status: int,
        body: dict[str, Any] | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        payload = dumps(body) if body is not None else b""
        all_headers = (JSON_HEADERS if payload else []) + (headers or [])
        await self.send({"type": "http.response.start", "status": status, "headers": all_headers})
        await self.send({"type": "http.response.body", "body": payload, "more_body": False})

    async def respond_error(self, exc: BaseException, ident: Any = None, *, legacy: bool) -> None:
        error, status = translate(exc, legacy=legacy)
        await self.respond(status, error_message(ident, error), await _challenge(self, exc))


async def _challenge(request: Request, exc: BaseException) -> list[tuple[bytes, bytes]]:
    if not isinstance(exc, InsufficientScope):
        return []
    # Audited here, where the refusal becomes a 403, for every method that checks scopes;
    # waited for, so the record exists by the time the client reads the answer.
    auditing.scope_refused(
        tenant=request.tenant,
        principal=request.principal,
        needed=exc.scopes,
        client_ip=request.scope.get("client_ip"),  # resolved once, by the auth middleware
    )
    await background.drain()
    return list(insufficient_scope_headers(request.tenant, exc.scopes))


def is_modern_request(request: Request, message: Message) -> bool:
    header = request.headers.get("mcp-protocol-version")
    meta = (message.params or {}).get("_meta")
    if header in MODERN_VERSIONS or (isinstance(meta, dict) and META_VERSION in meta):
        return True
    if message.method == "initialize" or "mcp-session-id" in request.headers:
        return False
    if header is None or header in LEGACY_VERSIONS:
        return False
    return message.kind == "request"


async def post(request: Request, body: bytes) -> None:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        await request.respond(
            415,
            error_message(
                None, InvalidRequest("Unsupported media type: send application/json").to_error()
            ),
        )
        return
    try:
        message = parse(body)
    except McpError as exc:
        await request.respond_error(exc, legacy=False)
        return
    modern = is_modern_request(request, message)
    try:
        if modern:
            await _post_modern(request, message)
        else:
            await _post_legacy(request, message)
    except McpError as exc:
        await request.respond_error(exc, message.id, legacy=not modern)


# ----- 2026-07-28 ------------------------------------------------------------------------


def _check_modern_headers(request: Request, message: Message) -> None:
    params = message.params or {}
    meta = params.get("_meta")
    if (
        not isinstance(meta, dict)
        or not isinstance(meta.get(META_VERSION), str)
        or not isinstance(meta.get(META_CAPABILITIES), dict)
    ):
        raise InvalidRequestMeta()
    version = meta[META_VERSION]
    if request.headers.get("mcp-protocol-version") != version:
        raise HeaderMismatch("Header mismatch: MCP-Protocol-Version differs from _meta")
    if version not in MODERN_VERSIONS:
        raise UnsupportedProtocolVersion(requested=version, supported=list(SUPPORTED_VERSIONS))
    if request.headers.get("mcp-method") != message.method:
        raise HeaderMismatch("Header mismatch: Mcp-Method differs from the method")
    field = NAMED_METHODS.get(message.method)
    if field is not None:
        name = params.get(field)
        if isinstance(name, str) and request.headers.get("mcp-name") != name:
            raise HeaderMismatch(f"Header mismatch: Mcp-Name differs from {field}")


async def _post_modern(request: Request, message: Message) -> None:
    if message.kind != "request":
        await request.respond(202)
        return
    if not dispatcher.knows(message.method, modern=True):
        _check_modern_headers(request, message)
        raise MethodNotFound(f"Method not found: {message.method}")
    _check_modern_headers(request, message)
    if message.method == "subscriptions/listen":
        await _listen(request, message)
        return
    reply = Reply(
        request.send, accepts_sse=request.accepts("text/event-stream"), on_stream=request.on_stream
    )
    call = dispatcher.Call(
        principal=request.principal,
        toolsets=request.toolsets,
        modern=True,
        message=message,
        notify=_notifier(reply),
    )
    await _run(call, reply, legacy=False, request=request)


def _notifier(reply: Reply) -> Any:
    async def notify(method: str, params: dict[str, Any]) -> None:
        await reply.push({"jsonrpc": "2.0", "method": method, "params": params})

    return notify


async def _run(
    call: dispatcher.Call,
    reply: Reply,
    *,
    legacy: bool,
    request: Request,
    before_answer: Callable[[], Awaitable[None]] | None = None,
    cancellable: Callable[[Awaitable[dict[str, Any]]], Awaitable[dict[str, Any]]] | None = None,
) -> None:
    """Dispatch and answer; ``before_answer`` runs first (the client may leave once answered).

    With ``cancellable`` (legacy sessions) the client may cancel the request by notification;
    a cancelled request gets no answer: its stream ends, or a bodiless 204.
    """
    answer: dict[str, Any]
    status, headers = 200, []
    work = dispatcher.dispatch(call)
    try:
        result = await (cancellable(work) if cancellable is not None else work)
        answer = result_message(call.message.id, result)
    except asyncio.CancelledError:
        raise
    except sessions.RequestCancelled:
        if before_answer is not None:
            await before_answer()
        await reply.finish(None, 204)
        return
    except Exception as exc:  # noqa: BLE001 (the translator logs what is not ours)
        error, status = translate(exc, legacy=legacy)
        answer, headers = error_message(call.message.id, error), await _challenge(request, exc)
    if before_answer is not None:
        await before_answer()
    await reply.finish(answer, status, headers)


async def _listen(request: Request, message: Message) -> None:
    wanted = (message.params or {}).get("notifications")
    if not isinstance(wanted, dict):
        raise InvalidParams("Invalid params: notifications must be an object")
    accepted: dict[str, Any] = {k: True for k in LISTEN_FILTERS if wanted.get(k) is True}
    uris = wanted.get("resourceSubscriptions")
    if isinstance(uris, list):
        accepted["resourceSubscriptions"] = [u for u in uris if isinstance(u, str)]
    subscription_id = str(message.id)
    methods = {LISTEN_FILTERS[k] for k in LISTEN_FILTERS if k in accepted}
    watched = set(accepted.get("resourceSubscriptions") or [])

    async def deliver(method: str, params: dict[str, Any]) -> bytes | None:
        if method in methods or (
            method == "notifications/resources/updated" and params.get("uri") in watched
        ):
            tagged = {**params, "_meta": {META_SUBSCRIPTION_ID: subscription_id}}
            return dumps({"jsonrpc": "2.0", "method": method, "params": tagged})
        return None

    ack = {
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": {"notifications": accepted, "_meta": {META_SUBSCRIPTION_ID: subscription_id}},
    }
    await _stream_events(request, [event(dumps(ack))], deliver, [])


async def _stream_events(
    request: Request,
    first: list[bytes],
    deliver: Any,
    headers: list[tuple[bytes, bytes]],
) -> None:
    """Hold an SSE stream open, relaying the tenant's announcements until the client leaves."""
    request.on_stream()
    layer = get_channel_layer()
    channel = await layer.new_channel() if layer else None
    group = tenant_group(request.tenant_id)
    if layer and channel:
        await layer.group_add(group, channel)
    try:
        await request.send(
            {"type": "http.response.start", "status": 200, "headers": SSE_HEADERS + headers}
        )
        for chunk in first:
            await request.send({"type": "http.response.body", "body": chunk, "more_body": True})
        if not (layer and channel):
            await asyncio.Event().wait()
        while True:
            try:
                msg = await asyncio.wait_for(layer.receive(channel), timeout=15)
            except TimeoutError:
                await request.send(
                    {"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True}
                )
                continue
            data = await deliver(str(msg.get("method", "")), dict(msg.get("params") or {}))
            if data is not None:
                await request.send(
                    {"type": "http.response.body", "body": event(data), "more_body": True}
                )
    finally:
        if layer and channel:
            await layer.group_discard(group, channel)


# ----- 2025-11-25 and older --------------------------------------------------------------


def _legacy_version(request: Request) -> str:
    version = request.headers.get("mcp-protocol-version")
    if version is None:
        return LEGACY_DEFAULT
    if version not in LEGACY_VERSIONS:
        raise InvalidRequest(f"Unsupported MCP-Protocol-Version: {version}")
    return version


async def _session_or_error(request: Request) -> tuple[str, dict[str, Any]] | None:
    session_id = request.headers.get("mcp-session-id")
    if not session_id:
        await request.respond(
            400,
            error_message(
                None,
                InvalidRequest(
                    "Bad request: Mcp-Session-Id is required (initialize first)"
                ).to_error(),
            ),
        )
        return None
    session = await sessions.load(request.tenant_id, session_id, request.principal)
    if session is None:
        await request.respond(
            404, error_message(None, {"code": -32001, "message": "Session not found"})
        )
        return None
    return session_id, session


async def _post_legacy(request: Request, message: Message) -> None:
    if message.method == "initialize" and message.kind == "request":
        await _initialize(request, message)
        return
    _legacy_version(request)
    found = await _session_or_error(request)
    if found is None:
        return
    session_id, session = found
    if message.kind == "response":
        await sessions.deliver_answer(request.tenant_id, session_id, message.raw)
        await request.respond(202)
        return
    if message.kind == "notification":
        if message.method == "notifications/cancelled":
            await sessions.deliver_cancel(request.tenant_id, session_id, message.params)
        await request.respond(202)
        return
    if not dispatcher.knows(message.method, modern=False):
        raise MethodNotFound(f"Method not found: {message.method}")
    before = dict(session)
    sessions.touch(session)
    stream = sessions.new_stream_id(session_id)
    reply = Reply(
        request.send,
        accepts_sse=request.accepts("text/event-stream"),
        log=sessions.stream_logger(request.tenant_id, stream),
        on_stream=request.on_stream,
        prime=session.get("version") == LEGACY_VERSIONS[0],
    )
    call = dispatcher.Call(
        principal=request.principal,
        toolsets=request.toolsets,
        modern=False,
        message=message,
        session=session,
        notify=_notifier(reply),
        ask=sessions.asker(request.tenant_id, session_id, reply),
    )

    async def save_changes() -> None:
        if session != before:
            await sessions.save(request.tenant_id, session_id, session)

    def cancellable(work: Awaitable[dict[str, Any]]) -> Awaitable[dict[str, Any]]:
        return sessions.run_cancellable(request.tenant_id, session_id, message.id, work)

    await _run(
        call,
        reply,
        legacy=True,
        request=request,
        before_answer=save_changes,
        cancellable=cancellable,
    )


async def _initialize(request: Request, message: Message) -> None:
    params = message.params or {}
    caps = params.get("capabilities")
    if not isinstance(params.get("protocolVersion"), str) or not isinstance(caps, dict):
        raise InvalidParams("Invalid params: protocolVersion and capabilities are required")
    call = dispatcher.Call(
        principal=request.principal, toolsets=request.toolsets, modern=False, message=message
    )
    result = await dispatcher.dispatch(call)
    session_id = secrets.token_urlsafe(24)
    await sessions.save(
        request.tenant_id,
        session_id,
        sessions.new_session(request.principal, result["protocolVersion"], caps),
    )
    await request.respond(
        200, result_message(message.id, result), [(b"mcp-session-id", session_id.encode())]
    )


async def get(request: Request) -> None:
    if "mcp-session-id" not in request.headers:
        await request.respond(405, None, [(b"allow", b"POST")])
        return
    if not request.accepts("text/event-stream"):
        await request.respond(
            406,
            error_message(
                None,
                InvalidRequest(
                    "Not acceptable: a GET stream needs Accept: text/event-stream"
                ).to_error(),
            ),
        )
        return
    found = await _session_or_error(request)
    if found is None:
        return
    session_id, _session = found
    replay: list[bytes] = []
    last = request.headers.get("last-event-id")
    if last:
        replay = await sessions.replay(request.tenant_id, session_id, last)

    async def deliver(method: str, params: dict[str, Any]) -> bytes | None:
        if method == "notifications/resources/updated":
            current = await sessions.load(request.tenant_id, session_id, request.principal)
            if current is None or params.get("uri") not in (current.get("subscriptions") or []):
                return None
        return dumps({"jsonrpc": "2.0", "method": method, "params": params})

    await _stream_events(request, replay, deliver, [])


async def delete(request: Request) -> None:
    session_id = request.headers.get("mcp-session-id")
    if not session_id:
        await request.respond(405, None, [(b"allow", b"POST")])
        return
    session = await sessions.load(request.tenant_id, session_id, request.principal)
    if session is None:
        await request.respond(404)
        return
    await sessions.end(request.tenant_id, session_id)
    await request.respond(204)


def max_body() -> int:
    return int(mcp_settings.MAX_REQUEST_BYTES)
