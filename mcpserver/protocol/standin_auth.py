"""A stand-in for ``tenants.auth.middleware.McpAuthMiddlewareStack`` until that lands here.

It honours the same contract (writes ``scope["tenant"]`` and ``scope["principal"]``, answers
401/403/404 itself) for API keys only: host and origin guard, tenant from the URL, then the
key's digest looked up among the tenant's usable keys. ``mcpserver.asgi`` uses it only when
the real stack cannot be imported.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from mcpserver.conf import mcp_settings
from tenants import apikeys
from tenants.models import ApiKey, Tenant
from tenants.principal import AuthMethod, Principal

ASGIApp = Any


def _lookup(slug: str, raw_key: str | None) -> tuple[Tenant | None, Principal | None]:
    tenant = Tenant.objects.filter(slug=slug, status=Tenant.Status.ACTIVE).first()
    if tenant is None or not raw_key or not apikeys.looks_like_api_key(raw_key):
        return tenant, None
    key = ApiKey.objects.usable().filter(tenant=tenant, digest=apikeys.digest_of(raw_key)).first()
    if key is None:
        return tenant, None
    principal = Principal(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        subject=f"apikey:{key.public_id}",
        auth_method=AuthMethod.API_KEY,
        fingerprint=key.digest,
        scopes=frozenset(key.scopes or ()),
        expires_at=key.expires_at,
        credential_id=key.public_id,
    )
    return tenant, principal


class StandInAuthMiddleware:
    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        domain, _port = split_domain_port(host)
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            await _deny(send, 421, "Misdirected request: unknown host")
            return
        origin = headers.get("origin")
        if origin and not _origin_allowed(origin, host):
            await _deny(send, 403, "Forbidden: origin not allowed")
            return
        if "access_token" in scope.get("query_string", b"").decode("latin-1"):
            await _deny(send, 400, "Tokens are not accepted in the query string")
            return
        auth = headers.get("authorization", "")
        raw = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        slug = scope["url_route"]["kwargs"]["slug"]
        tenant, principal = await database_sync_to_async(_lookup)(slug, raw)
        if tenant is None:
            await _deny(send, 404, "Not found")
            return
        if principal is None:
            error = "invalid_token" if raw else "invalid_request"
            challenge = (
                f'Bearer error="{error}", error_description="A valid API key is required", '
                f'resource_metadata="{tenant.resource_metadata_url}"'
            )
            await _deny(send, 401, "Unauthorized", [(b"www-authenticate", challenge.encode())])
            return
        await self.inner({**scope, "tenant": tenant, "principal": principal}, receive, send)


def _origin_allowed(origin: str, host: str) -> bool:
    if origin in mcp_settings.ALLOWED_ORIGINS:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == host


async def _deny(send: Any, status: int, message: str, headers: list[Any] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": body})


def StandInAuthMiddlewareStack(inner: ASGIApp) -> ASGIApp:
    return StandInAuthMiddleware(inner)
