"""Who is asking, in front of the MCP endpoint (inside the protocol's transport guard).

``McpAuthMiddleware(inner)`` resolves the tenant from ``scope["url_route"]["kwargs"]["slug"]``
(unknown and suspended tenants get the same 404), refuses a credential in the query string
(401), then authenticates the Bearer credential (401). Only then does the inner app run, with
``scope["tenant"]``, ``scope["principal"]`` and ``scope["client_ip"]`` (the trusted client
address) set. Refusals are raised, with their challenge, for the guard to answer; nothing is
written anywhere but the scope.
"""

from typing import Any
from urllib.parse import parse_qsl

from mcpserver.conf import mcp_settings
from mcpserver.context import client_ip as trusted_client_ip
from mcpserver.context import scope_header
from mcpserver.errors import AuthFailure, InvalidCredentialRequest, TenantNotFound
from mcpserver.observability import tracing
from tenants.auth import auditing, tenantcache
from tenants.auth.authenticator import authenticate
from tenants.auth.challenges import unauthorized_challenge

Scope = dict[str, Any]

# Query parameters that carry credentials in other APIs; none is accepted here (RFC 6750
# section 2.3 is not supported: URLs end up in logs and browser history).
_CREDENTIAL_PARAMS = frozenset({"access_token", "token", "api_key", "apikey", "key", "bearer"})


def _credential_in_query(query_string: bytes) -> bool:
    if not query_string:
        return False
    prefix = mcp_settings.API_KEY_PREFIX
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name.lower() in _CREDENTIAL_PARAMS or value.startswith(prefix):
            return True
    return False


class McpAuthMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        slug = scope.get("url_route", {}).get("kwargs", {}).get("slug", "")
        config = await tenantcache.resolve(slug) if slug else None
        if config is None:
            raise TenantNotFound()
        tenant = config.tenant
        client = scope.get("client") or (None, None)
        ip = trusted_client_ip(
            peer=client[0], forwarded_for=scope_header(scope, b"x-forwarded-for")
        )
        started = tracing.now_ns() if tracing.enabled() else 0
        try:
            if _credential_in_query(scope.get("query_string", b"")):
                refused = InvalidCredentialRequest(
                    "Credentials in the query string are refused; use the Authorization header.",
                    reason="credential in query string",
                )
                auditing.failure(tenant=tenant, client_ip=ip, failure=refused)
                raise refused
            principal = await authenticate(
                config, scope_header(scope, b"authorization"), client_ip=ip
            )
        except AuthFailure as failure:
            if started:
                tracing.record_failed_authentication(_trace_headers(scope), started, failure.error)
            raise failure.with_challenge(
                unauthorized_challenge(tenant, failure.error, failure.description)
            ) from None
        inner_scope = dict(scope, tenant=tenant, principal=principal, client_ip=ip)
        if started:  # the request's span records it once the message is read
            inner_scope["trace.auth"] = (started, tracing.now_ns(), principal.auth_method.value)
        await self.inner(inner_scope, receive, send)


def _trace_headers(scope: Scope) -> dict[str, str]:
    return {
        name: value
        for name in ("traceparent", "tracestate")
        if (value := scope_header(scope, name.encode())) is not None
    }
