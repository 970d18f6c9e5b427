"""Transport security in front of the MCP endpoint, outermost in the ASGI stack.

``TransportGuard(inner)``: gives the request its id (echoed as ``X-Request-ID``, carried by
every log line and audit record); checks the Host header against ALLOWED_HOSTS and a present
Origin against the allowed origins (403, DNS-rebinding protection); answers CORS preflights
and lets browser clients on an allowed origin read the responses. An ``HttpRefusal`` the inner
application raises (the tenant resolver and the authenticator refuse that way, before any
response starts) is answered here, by the one translator.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from mcpserver.conf import mcp_settings
from mcpserver.context import (
    is_loopback_host,
    request_headers,
    request_id_from_header,
    request_id_var,
)
from mcpserver.process import process_state
from mcpserver.protocol.http import Send, send_error, send_response
from mcpserver.refusals import HostNotAllowed, HttpRefusal, OriginNotAllowed
from tenants.auth.middleware import McpAuthMiddleware

Scope = dict[str, Any]
_LOOPBACK_DEBUG_HOSTS = [".localhost", "localhost", "127.0.0.1", "[::1]"]
_CORS_ALLOW_HEADERS = (
    b"authorization, content-type, accept, last-event-id, mcp-protocol-version, "
    b"mcp-session-id, mcp-method, mcp-name"
)
_CORS_EXPOSE_HEADERS = b"www-authenticate, mcp-session-id, mcp-protocol-version"


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_allowed(origin: str) -> bool:
    origin = origin.rstrip("/").lower()
    if origin == _origin_of(mcp_settings.PUBLIC_URL):
        return True
    if origin in {_origin_of(o) for o in mcp_settings.ALLOWED_ORIGINS}:
        return True
    if settings.DEBUG:
        parts = urlsplit(origin)
        return parts.scheme in {"http", "https"} and is_loopback_host(parts.hostname or "")
    return False


def host_allowed(host: str | None) -> bool:
    return bool(host) and _host_allowed(host)


# Clients send a handful of distinct Host values: answer each once, until settings change.
@lru_cache(maxsize=256)
def _host_allowed(host: str) -> bool:
    domain, _port = split_domain_port(host)
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = _LOOPBACK_DEBUG_HOSTS
    return bool(domain) and validate_host(domain, allowed)


process_state.on_reset(
    "guard.allowed_hosts", _host_allowed.cache_clear, settings={"ALLOWED_HOSTS", "DEBUG"}
)


def _adding_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def send_with_headers(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return send_with_headers


def _cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", _CORS_EXPOSE_HEADERS),
        (b"vary", b"origin"),
    ]


_PREFLIGHT_HEADERS = [
    (b"access-control-allow-methods", b"GET, POST, DELETE"),
    (b"access-control-allow-headers", _CORS_ALLOW_HEADERS),
    (b"access-control-max-age", b"600"),
]


class TransportGuard:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        request_id = request_id_from_header(request_headers(scope).get("x-request-id"))
        token = request_id_var.set(request_id)
        try:
            send = _adding_headers(send, [(b"x-request-id", request_id.encode("ascii"))])
            await self._guarded(scope, receive, send)
        finally:
            request_id_var.reset(token)

    async def _guarded(self, scope: Scope, receive: Any, send: Send) -> None:
        headers = request_headers(scope)
        if not host_allowed(headers.get("host")):
            await send_error(send, HostNotAllowed())
            return
        origin = headers.get("origin")
        if origin is not None:
            if not origin_allowed(origin):
                await send_error(send, OriginNotAllowed())
                return
            send = _adding_headers(send, _cors_headers(origin))
            if scope.get("method") == "OPTIONS" and "access-control-request-method" in headers:
                await send_response(send, 204, b"", _PREFLIGHT_HEADERS)  # carries no credential
                return
        try:
            await self.inner(scope, receive, send)
        except HttpRefusal as refusal:  # raised before any response, by the tenant middleware
            await send_error(send, refusal)


def mcp_stack(inner: Any) -> TransportGuard:
    """The MCP route's middleware: transport security, then who is asking, then ``inner``."""
    return TransportGuard(McpAuthMiddleware(inner))
