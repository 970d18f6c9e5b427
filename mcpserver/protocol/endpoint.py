"""Streamable HTTP for one MCP endpoint: POST, GET and DELETE, routed to their era.

The consumer hands every request here as an ``Exchange`` (the ASGI scope already carries
``tenant``, ``principal`` and ``client_ip`` from the middleware) with the body. The era is
decided once per message by ``inbound.classify``; every error is raised and answered by the
translator, with the request's id and era when they are known.
"""

from __future__ import annotations

from mcpserver.eras import Era
from mcpserver.errors import McpError, MethodNotAllowed, UnsupportedMediaType
from mcpserver.protocol import era_session, era_stateless, inbound
from mcpserver.protocol.http import Exchange
from mcpserver.protocol.jsonrpc import parse


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
    try:
        if era is Era.STATELESS:
            await era_stateless.post(exchange, message)
        else:
            await era_session.post(exchange, message)
    except McpError as exc:
        await exchange.fail(exc, message.id, era=era)


async def handle(exchange: Exchange, method: str, body: bytes) -> None:
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
