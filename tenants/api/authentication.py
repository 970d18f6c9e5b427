"""Who is calling the REST API: a session (browser, CSRF enforced) or a Bearer credential.

Bearer credentials: an API key holding the ``admin`` scope (its tenant's admin, for that
tenant only), or an access token (JWT) from the staff provider or a tenant's portal provider,
checked like an ID token (signature by the provider's keys, issuer, audience: our client id
or the API's resource ``PUBLIC_URL/api/``) and mapped to the staff user or member it names.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from mcpserver.conf import mcp_settings
from mcpserver.refusals import InvalidToken
from tenants import key_material
from tenants.auth import jwtkit
from tenants.auth.authenticator import bearer_token
from tenants.models import ApiKey, Membership, PortalSignIn, Tenant
from tenants.portal import oidc
from tenants.portal.backends import _username

ADMIN_SCOPE = "admin"


@dataclass(frozen=True)
class Caller:
    """The API's view of who asks: staff, or roles in tenants; ``key`` for an API key."""

    name: str
    is_staff: bool = False
    roles: dict[int, str] = field(default_factory=dict)  # tenant id -> role
    user: Any = None
    key: ApiKey | None = None

    is_authenticated = True
    is_anonymous = False

    def role_in(self, tenant: Tenant) -> str | None:
        return self.roles.get(tenant.pk)

    @classmethod
    def of_user(cls, user: Any) -> Caller:
        roles = dict(Membership.objects.filter(user=user).values_list("tenant_id", "role"))
        return cls(
            name=f"api:{user.get_username()}", is_staff=user.is_staff, roles=roles, user=user
        )


def caller_of(request: Request) -> Caller | None:
    user = request.user
    if isinstance(user, Caller):
        return user
    if user is not None and getattr(user, "is_authenticated", False):
        return Caller.of_user(user)
    return None


class SessionAuthentication(authentication.SessionAuthentication):
    """The portal's and admin's session, with DRF's CSRF check on unsafe methods."""


class BearerAuthentication(authentication.BaseAuthentication):
    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

    def authenticate(self, request: Request) -> tuple[Caller, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        try:
            token = bearer_token(header)
        except Exception as exc:
            raise exceptions.AuthenticationFailed("Send 'Authorization: Bearer <token>'.") from exc
        if key_material.looks_like_api_key(token):
            return _api_key_caller(token), None
        if jwtkit.looks_like_jwt(token):
            return _token_caller(token), None
        raise exceptions.AuthenticationFailed("The credential is not valid.")


def _api_key_caller(raw: str) -> Caller:
    digest = hashlib.sha256(raw.encode()).hexdigest()
    key = (
        ApiKey.objects.usable()
        .select_related("tenant")
        .filter(digest=digest, tenant__status=Tenant.Status.ACTIVE)
        .first()
    )
    if key is None:
        raise exceptions.AuthenticationFailed("The API key is not valid.")
    if ADMIN_SCOPE not in key.scopes:
        raise exceptions.PermissionDenied("This API key lacks the 'admin' scope.")
    return Caller(
        name=f"api:apikey:{key.public_id}",
        roles={key.tenant_id: Membership.Role.ADMIN},
        key=key,
    )


def _verify(client: oidc.OidcClient, token: str) -> dict[str, Any]:
    audiences = [client.client_id, f"{mcp_settings.PUBLIC_URL}/api/"]
    last: InvalidToken | None = None
    for audience in audiences:
        try:
            verifier = dataclasses.replace(client, client_id=audience)
            return verifier.verify_id_token(token)
        except InvalidToken as exc:
            last = exc
            if exc.reason != "wrong audience":
                break
    raise exceptions.AuthenticationFailed(
        last.message if last else "The access token is not valid."
    ) from last


def _token_caller(token: str) -> Caller:
    try:
        issuer = jwtkit.peek(token).issuer
    except InvalidToken as exc:
        raise exceptions.AuthenticationFailed("The access token is malformed.") from exc
    try:
        if oidc.staff_configured() and issuer == mcp_settings.STAFF_OIDC_ISSUER:
            claims = _verify(oidc.staff_client(), token)
            user = (
                get_user_model()
                .objects.filter(username=_username("sso", str(claims.get("sub"))), is_staff=True)
                .first()
            )
            if user is None or not user.is_active:
                raise exceptions.AuthenticationFailed("No staff account for this token.")
            return Caller.of_user(user)
        for sign_in in PortalSignIn.objects.filter(issuer=issuer, enabled=True).select_related(
            "tenant"
        ):
            claims = _verify(oidc.tenant_client(sign_in.tenant), token)
            membership = (
                Membership.objects.filter(tenant=sign_in.tenant, subject=str(claims.get("sub")))
                .select_related("user")
                .first()
            )
            if membership is not None and membership.user.is_active:
                return Caller(
                    name=f"api:{membership.user.get_username()}",
                    roles={membership.tenant_id: membership.role},
                    user=membership.user,
                )
    except oidc.SignInUnavailable as exc:
        raise exceptions.AuthenticationFailed("The token's issuer cannot be reached.") from exc
    raise exceptions.AuthenticationFailed("The access token is not valid here.")
