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
from mcpserver.context import principal_var, request_headers, tenant_var
from mcpserver.observability import tracing
from mcpserver.refusals import AuthFailure, InvalidCredentialRequest, TenantNotFound
from tenants.auth import auditing, tenantcache
from tenants.auth.authenticator import authenticate
from tenants.auth.challenges import unauthorized_challenge
from tenants.principal import AuthMethod, Principal

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
        tenant_token = tenant_var.set(tenant.slug)
        try:
            await self._authenticated(scope, receive, send, config)
        finally:
            tenant_var.reset(tenant_token)

    async def _authenticated(self, scope: Scope, receive: Any, send: Any, config: Any) -> None:
        tenant = config.tenant
        client = scope.get("client") or (None, None)
        headers = request_headers(scope)
        ip = trusted_client_ip(peer=client[0], forwarded_for=headers.get("x-forwarded-for"))
        started = tracing.now_ns() if tracing.enabled() else 0
        try:
            if _credential_in_query(scope.get("query_string", b"")):
                refused = InvalidCredentialRequest(
                    "Credentials in the query string are refused; use the Authorization header.",
                    reason="credential in query string",
                )
                auditing.failure(tenant=tenant, client_ip=ip, failure=refused)
                raise refused
            principal = await authenticate(config, headers.get("authorization"), client_ip=ip)
        except AuthFailure as failure:
            if started:
                tracing.record_failed_authentication(_trace_headers(scope), started, failure.error)
            raise failure.with_challenge(
                unauthorized_challenge(tenant, failure.error, failure.description)
            ) from None
        inner_scope = dict(scope, tenant=tenant, principal=principal, client_ip=ip)
        if started:  # the request's span records it once the message is read
            inner_scope["trace.auth"] = (started, tracing.now_ns(), principal.auth_method.value)
        principal_token = principal_var.set(principal_name(principal))
        try:
            await self.inner(inner_scope, receive, send)
        finally:
            principal_var.reset(principal_token)


def principal_name(principal: Principal) -> str:
    """For log lines: the API key's public id, or ``jwt:`` and the token's subject."""
    if principal.auth_method is AuthMethod.API_KEY:
        return principal.credential_id
    return f"{principal.auth_method.value}:{principal.subject}"[:128]


def _trace_headers(scope: Scope) -> dict[str, str]:
    headers = request_headers(scope)
    return {name: headers[name] for name in ("traceparent", "tracestate") if name in headers}
