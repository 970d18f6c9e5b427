"""Streamable HTTP for one MCP endpoint: POST, GET and DELETE, routed to their era.

The consumer hands every request here as an ``Exchange`` (the ASGI scope already carries
``tenant``, ``principal`` and ``client_ip`` from the middleware) with the body. The era is
decided once per message by ``inbound.classify``; every error is raised and answered by the
translator, with the request's id and era when they are known. Every request is first
counted against the tenant's rate limits (``tenants.ratelimit``): over them, 429. Every request
is counted and timed once its answer is sent (``exchange.observed``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from mcpserver.eras import Era
from mcpserver.errors import McpError, MethodNotAllowed, RateLimited, UnsupportedMediaType
from mcpserver.observability import tracing
from mcpserver.observability.requests import UNKNOWN
from mcpserver.observability.series import observe_rate_limited
from mcpserver.protocol import dispatcher, era_session, era_stateless, inbound
from mcpserver.protocol.http import Exchange
from mcpserver.protocol.jsonrpc import Message, RequestId, parse
from tenants import ratelimit


def _method_label(message: Message, era: Era) -> str:
    """The method as a metric label: only names the server serves (a client picks the rest)."""
    if message.kind != "request":
        return message.kind
    if message.method == "initialize" or dispatcher.knows(message.method, era):
        return message.method
    return UNKNOWN


async def post(exchange: Exchange, body: bytes) -> None:
    content_type = exchange.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType()
    message = parse(body)
    era = inbound.classify(
        message,
        version_header=exchange.headers.get("mcp-protocol-version"),
        session_id=exchange.headers.get("mcp-session-id"),
    )
    exchange.observed.message(era.value, _method_label(message, era))
    with _request_span(exchange, message, era):
        try:
            if era is Era.STATELESS:
                await era_stateless.post(exchange, message)
            else:
                await era_session.post(exchange, message)
        except McpError as exc:
            await exchange.fail(exc, message.id, era=era)


def _request_span(exchange: Exchange, message: Message, era: Era) -> Any:
    if not tracing.enabled():
        return tracing.span("")  # the shared do-nothing context
    meta = (message.params or {}).get("_meta") if era is Era.STATELESS else None
    auth = exchange.scope.get("trace.auth")
    return tracing.request_span(
        f"mcp {exchange.observed.method}",
        meta=meta if isinstance(meta, dict) else {},
        headers=exchange.headers,
        start_ns=auth[0] if auth else None,
        attributes={
            "mcp.method": exchange.observed.method,
            "mcp.era": era.value,
            "mcp.tenant": exchange.tenant.slug,
        },
        auth=auth,
    )


def _request_id(body: bytes) -> RequestId | None:
    try:
        return parse(body).id
    except McpError:
        return None


async def handle(exchange: Exchange, method: str, body: bytes) -> None:
    try:
        await _handle(exchange, method, body)
    except asyncio.CancelledError:
        exchange.observed.outcome = "cancelled"
        raise
    except Exception as exc:
        exchange.observed.failed(exc)
        raise
    finally:
        exchange.observed.finish()


async def _handle(exchange: Exchange, method: str, body: bytes) -> None:
    try:
        await ratelimit.admit(
            tenant=exchange.tenant, principal=exchange.principal, client_ip=exchange.client_ip
        )
    except RateLimited as exc:
        # Counted before the message is parsed, so a flood of bad bodies is limited too; the
        # id is looked for only to answer this request by its name.
        observe_rate_limited(tenant=exchange.tenant.slug, scope=exc.scope)
        await exchange.fail(exc, _request_id(body) if method == "POST" else None)
        return
    try:
        if method == "POST":
            await post(exchange, body)
        elif method == "GET":
            await era_session.get(exchange)
        elif method == "DELETE":
            await era_session.delete(exchange)
        else:
            raise MethodNotAllowed("GET, POST, DELETE")
    except McpError as exc:
        await exchange.fail(exc)
