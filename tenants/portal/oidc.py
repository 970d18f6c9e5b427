"""OpenID Connect sign-in with mozilla-django-oidc, configured per client instead of per site.

Two kinds of client use the same code: the staff client (admin sign-in; issuer, client id and
secret from the environment) and each tenant's portal client (``PortalSignIn``; its secret a
sealed tenant secret). mozilla-django-oidc's views and backend do the flow (state, nonce and
the PKCE verifier kept in the Django session, which lives in the database, so the callback may
land on any instance); here they get their settings from an ``OidcClient`` rather than from
Django settings, send every request through ``tenants.outbound``, and check the ID token's
audience and issuer (which the library leaves out) through ``tenants.auth.jwtkit``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from mcpserver.conf import mcp_settings
from mcpserver.process import process_state
from mcpserver.refusals import InvalidToken
from tenants import outbound, secrets
from tenants.auth import jwtkit
from tenants.models import PortalSignIn, Tenant

STAFF = "staff"
TENANT = "tenant"
_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
_staff_endpoints: dict[str, dict[str, str]] = process_state.cache("oidc.staff_endpoints")


class SignInUnavailable(Exception):
    """Sign-in is not configured, or the provider cannot be reached; safe to show."""


@dataclass(frozen=True)
class OidcClient:
    kind: str  # STAFF or TENANT
    issuer: str
    client_id: str
    scopes: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    allow_private: bool
    tenant_id: int | None = None
    tenant_slug: str = ""
    admin_claim: str = ""
    admin_value: str = ""

    @property
    def policy(self) -> outbound.OutboundPolicy:
        return outbound.OutboundPolicy(
            allow_private=self.allow_private,
            timeout=float(mcp_settings.JWKS_FETCH_TIMEOUT),
            max_bytes=256 * 1024,
        )

    def client_secret(self) -> str:
        if self.kind == STAFF:
            return str(mcp_settings.STAFF_OIDC_CLIENT_SECRET)
        if self.tenant_id is None:
            raise SignInUnavailable("The sign-in client names no tenant.")
        try:
            return secrets.secret_value(
                tenant_id=self.tenant_id, name=PortalSignIn.PORTAL_SECRET_NAME
            )
        except secrets.SecretMissing as exc:
            raise SignInUnavailable("The sign-in client has no secret.") from exc

    # -- the requests mozilla-django-oidc would send with ``requests`` -------------------
    def exchange_code(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST to the token endpoint with client_secret_basic (RFC 6749 section 2.3.1)."""
        form = {k: v for k, v in payload.items() if k not in {"client_id", "client_secret"}}
        basic = f"{quote(self.client_id, safe='')}:{quote(self.client_secret(), safe='')}"
        headers = {
            "Authorization": "Basic " + base64.b64encode(basic.encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        response = outbound.request(
            "POST",
            self.token_endpoint,
            policy=self.policy,
            headers=headers,
            content=urlencode(form).encode(),
        )
        if response.status != 200:
            raise SignInUnavailable(f"the token endpoint answered HTTP {response.status}")
        return _json_object(response.body)

    def userinfo(self, access_token: str) -> dict[str, Any]:
        response = outbound.request(
            "GET",
            self.userinfo_endpoint,
            policy=self.policy,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        if response.status != 200:
            raise SignInUnavailable(f"the userinfo endpoint answered HTTP {response.status}")
        return _json_object(response.body)

    def verify_id_token(self, token: str) -> dict[str, Any]:
        """The ID token's claims, checked: signature by a key of the provider's JWKS, the
        provider's issuer, this client as audience, expiry. Raises ``InvalidToken``."""
        seen = jwtkit.peek(token)
        keys = outbound.get_json(self.jwks_uri, policy=self.policy)
        candidates = keys.get("keys", []) if isinstance(keys, dict) else []
        for jwk in candidates:
            if not isinstance(jwk, dict) or (seen.kid is not None and jwk.get("kid") != seen.kid):
                continue
            key = jwtkit.load_key(jwk, algorithm=seen.alg)
            if key is not None:
                return jwtkit.decode(
                    token,
                    key=key,
                    algorithm=seen.alg,
                    issuer=self.issuer,
                    audience=self.client_id,
                    leeway=mcp_settings.JWT_LEEWAY,
                )
        raise InvalidToken("The ID token's signing key is not known.", reason="unknown kid")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise SignInUnavailable("the provider did not answer JSON") from exc
    if not isinstance(value, dict):
        raise SignInUnavailable("the provider did not answer a JSON object")
    return value


def discover(issuer: str, *, allow_private: bool) -> dict[str, str]:
    """The provider's endpoints from its OpenID Connect discovery document (blocking)."""
    policy = outbound.OutboundPolicy(
        allow_private=allow_private, timeout=float(mcp_settings.JWKS_FETCH_TIMEOUT)
    )
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        metadata = outbound.get_json(url, policy=policy)
    except outbound.OutboundError as exc:
        raise SignInUnavailable(f"discovery failed: {exc}") from exc
    if not isinstance(metadata, dict) or metadata.get("issuer") != issuer:
        raise SignInUnavailable("discovery failed: the document names another issuer")
    found = {name: metadata.get(name) for name in _ENDPOINTS}
    missing = [name for name, value in found.items() if not isinstance(value, str) or not value]
    if missing:
        raise SignInUnavailable(f"discovery failed: no {', '.join(missing)}")
    return {name: str(value) for name, value in found.items()}


def staff_configured() -> bool:
    return bool(mcp_settings.STAFF_OIDC_ISSUER and mcp_settings.STAFF_OIDC_CLIENT_ID)


def staff_client() -> OidcClient:
    if not staff_configured():
        raise SignInUnavailable("Staff sign-in through OpenID Connect is not configured.")
    issuer = str(mcp_settings.STAFF_OIDC_ISSUER)
    allow_private = bool(mcp_settings.STAFF_OIDC_ALLOW_PRIVATE_NETWORK)
    endpoints = _staff_endpoints.get(issuer)
    if endpoints is None:
        endpoints = _staff_endpoints[issuer] = discover(issuer, allow_private=allow_private)
    return OidcClient(
        kind=STAFF,
        issuer=issuer,
        client_id=str(mcp_settings.STAFF_OIDC_CLIENT_ID),
        scopes=str(mcp_settings.STAFF_OIDC_SCOPES),
        allow_private=allow_private,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        userinfo_endpoint=endpoints["userinfo_endpoint"],
        jwks_uri=endpoints["jwks_uri"],
    )


def tenant_client(tenant: Tenant) -> OidcClient:
    sign_in = PortalSignIn.objects.filter(tenant=tenant, enabled=True).first()
    if sign_in is None or not sign_in.authorization_endpoint:
        raise SignInUnavailable("This tenant has no portal sign-in configured.")
    return OidcClient(
        kind=TENANT,
        issuer=sign_in.issuer,
        client_id=sign_in.client_id,
        scopes=sign_in.scopes,
        authorization_endpoint=sign_in.authorization_endpoint,
        token_endpoint=sign_in.token_endpoint,
        userinfo_endpoint=sign_in.userinfo_endpoint,
        jwks_uri=sign_in.jwks_uri,
        allow_private=sign_in.allow_private_network,
        tenant_id=tenant.pk,
        tenant_slug=tenant.slug,
        admin_claim=sign_in.admin_claim,
        admin_value=sign_in.admin_value,
    )


def claim_matches(claims: dict[str, Any], claim: str, value: str) -> bool:
    """Whether ``claims[claim]`` is ``value`` or a list holding it."""
    held = claims.get(claim)
    if isinstance(held, list):
        return value in [str(item) for item in held]
    return held is not None and str(held) == value
