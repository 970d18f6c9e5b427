"""The ASGI middleware in front of the MCP endpoint.

``McpAuthMiddlewareStack(inner)`` checks, in order: the Host header against ALLOWED_HOSTS and a
present Origin against the allowed origins (403); the tenant from
``scope["url_route"]["kwargs"]["slug"]`` (unknown and suspended tenants get the same 404); a
credential in the query string (401); then the Bearer credential (401, or 403 for a refused
scope). Only then does the inner app run, with ``scope["tenant"]``, ``scope["principal"]``
and ``scope["client_ip"]`` (the trusted client address) set. Nothing is written anywhere but
the scope.
"""

import json
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.http.request import split_domain_port, validate_host

from mcpserver.conf import mcp_settings
from mcpserver.context import client_ip as trusted_client_ip
from mcpserver.context import is_loopback_host, request_id_from_header, request_id_var
from tenants.auth import auditing, outage, tenantcache
from tenants.auth.authenticator import authenticate
from tenants.auth.challenges import insufficient_scope_headers, unauthorized_headers
from tenants.auth.errors import AuthFailure, InsufficientScope, InvalidRequest
from tenants.auth.outage import DatabaseUnavailable

Scope = dict[str, Any]
Receive = Any
Send = Any

# Query parameters that carry credentials in other APIs; none is accepted here (RFC 6750
# section 2.3 is not supported: URLs end up in logs and browser history).
_CREDENTIAL_PARAMS = frozenset({"access_token", "token", "api_key", "apikey", "key", "bearer"})
_LOOPBACK_DEBUG_HOSTS = [".localhost", "localhost", "127.0.0.1", "[::1]"]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


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


def _forget_hosts(*, setting: str, **kwargs: Any) -> None:
    if setting in {"ALLOWED_HOSTS", "DEBUG"}:
        _host_allowed.cache_clear()


setting_changed.connect(_forget_hosts)


def _credential_in_query(query_string: bytes) -> bool:
    if not query_string:
        return False
    prefix = mcp_settings.API_KEY_PREFIX
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name.lower() in _CREDENTIAL_PARAMS or value.startswith(prefix):
            return True
    return False


async def _respond(
    send: Send, status: int, body: dict[str, str], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


_CORS_ALLOW_HEADERS = (
    b"authorization, content-type, accept, last-event-id, mcp-protocol-version, "
    b"mcp-session-id, mcp-method, mcp-name"
)
_CORS_EXPOSE_HEADERS = b"www-authenticate, mcp-session-id, mcp-protocol-version"


def _with_cors(send: Send, origin: str) -> Send:
    """Browser clients on an allowed origin may read the responses (and the challenges)."""
    extra = [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", _CORS_EXPOSE_HEADERS),
        (b"vary", b"origin"),
    ]

    async def send_with_cors(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return send_with_cors


def _with_request_id(send: Send, request_id: str) -> Send:
    header = (b"x-request-id", request_id.encode("ascii"))

    async def send_with_request_id(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), header]}
        await send(message)

    return send_with_request_id


async def _preflight(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 204,
            "headers": [
                (b"access-control-allow-methods", b"GET, POST, DELETE"),
                (b"access-control-allow-headers", _CORS_ALLOW_HEADERS),
                (b"access-control-max-age", b"600"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


class McpAuthMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        # Every log line and audit record of this request carries its id, echoed to the client.
        request_id = request_id_from_header(_header(scope, b"x-request-id"))
        token = request_id_var.set(request_id)
        send = _with_request_id(send, request_id)
        try:
            await self._guarded(scope, receive, send)
        except DatabaseUnavailable:  # raised by tenant resolution or authentication only
            await _respond(send, 503, outage.BODY, outage.asgi_headers())
        finally:
            request_id_var.reset(token)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not host_allowed(_header(scope, b"host")):
            await _respond(
                send, 403, {"error": "forbidden", "error_description": "Host not allowed."}
            )
            return
        origin = _header(scope, b"origin")
        if origin is not None:
            if not origin_allowed(origin):
                await _respond(
                    send, 403, {"error": "forbidden", "error_description": "Origin not allowed."}
                )
                return
            send = _with_cors(send, origin)
            if scope.get("method") == "OPTIONS" and _header(
                scope, b"access-control-request-method"
            ):
                await _preflight(send)  # a CORS preflight carries no credential
                return
        slug = scope.get("url_route", {}).get("kwargs", {}).get("slug", "")
        config = await tenantcache.resolve(slug) if slug else None
        if config is None:
            await _respond(send, 404, {"error": "not_found"})
            return
        tenant = config.tenant
        client = scope.get("client") or (None, None)
        ip = trusted_client_ip(peer=client[0], forwarded_for=_header(scope, b"x-forwarded-for"))
        try:
            if _credential_in_query(scope.get("query_string", b"")):
                refused = InvalidRequest(
                    "Credentials in the query string are refused; use the Authorization header.",
                    reason="credential in query string",
                )
                auditing.failure(tenant=tenant, client_ip=ip, failure=refused)
                raise refused
            principal = await authenticate(config, _header(scope, b"authorization"), client_ip=ip)
        except InsufficientScope as refusal:
            await _respond(
                send,
                403,
                {"error": refusal.error, "error_description": refusal.description},
                insufficient_scope_headers(tenant, refusal.scopes),
            )
            return
        except AuthFailure as failure:
            body = {
                "error": failure.error or "unauthorized",
                "error_description": failure.description,
            }
            await _respond(
                send, 401, body, unauthorized_headers(tenant, failure.error, failure.description)
            )
            return
        await self.inner(
            dict(scope, tenant=tenant, principal=principal, client_ip=ip), receive, send
        )


def McpAuthMiddlewareStack(inner: Any) -> McpAuthMiddleware:
    return McpAuthMiddleware(inner)
