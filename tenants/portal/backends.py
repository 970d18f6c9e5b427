"""mozilla-django-oidc's backend, fed by an ``OidcClient`` (tenants.portal.oidc).

The callback view puts the client on the request (``request.oidc_client``): Django tries each
backend, and these answer only for a request of their own kind. The library does the flow
(code exchange, ID token and nonce checks, userinfo, find-or-create); these say who may sign
in, and as whom.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from mcpserver.conf import mcp_settings
from mcpserver.refusals import InvalidToken
from tenants import services
from tenants.audit import Actor, audit_record
from tenants.models import Tenant
from tenants.portal.oidc import STAFF, TENANT, OidcClient, SignInUnavailable, claim_matches

CALLBACK_URL_NAME = "oidc-callback"


class _ClientBackend(OIDCAuthenticationBackend):
    kind = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads its endpoints from settings here; ours come with each request.
        self.UserModel = get_user_model()
        self.client: OidcClient | None = None

    @property
    def current(self) -> OidcClient:
        """The client of the request being authenticated (set by ``authenticate``)."""
        if self.client is None:
            raise RuntimeError("no OpenID client for this request")
        return self.client

    def get_settings(self, attr: str, *args: Any) -> Any:
        per_client = {
            "OIDC_RP_SCOPES": self.current.scopes,
            "OIDC_AUTHENTICATION_CALLBACK_URL": CALLBACK_URL_NAME,
            "OIDC_USE_NONCE": True,
            "OIDC_CREATE_USER": True,
            "OIDC_STORE_ACCESS_TOKEN": False,
            "OIDC_STORE_ID_TOKEN": False,
        }
        if attr in per_client:
            return per_client[attr]
        return super().get_settings(attr, *args)

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        client = getattr(request, "oidc_client", None)
        if not isinstance(client, OidcClient) or client.kind != self.kind:
            return None
        self.client = client
        self.OIDC_RP_CLIENT_ID = client.client_id
        self.OIDC_RP_CLIENT_SECRET = ""  # sent by exchange_code, never kept on the backend
        try:
            return super().authenticate(request, **kwargs)
        except (SignInUnavailable, InvalidToken) as exc:
            request.oidc_failure = str(exc)
            return None

    # -- the network, through tenants.outbound --------------------------------------------
    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.current.exchange_code({**payload, "redirect_uri": canonical_callback()})

    def verify_token(self, token: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(token, str):
            raise SuspiciousOperation("The provider sent no ID token.")
        claims = self.current.verify_id_token(token)
        if claims.get("nonce") != kwargs.get("nonce"):
            raise SuspiciousOperation("JWT Nonce verification failed.")
        self.id_claims = claims
        return claims

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        info = self.current.userinfo(access_token) if self.current.userinfo_endpoint else {}
        if info.get("sub", payload["sub"]) != payload["sub"]:
            raise SuspiciousOperation("The userinfo answer is about another subject.")
        # The ID token's claims are the verified ones; userinfo only adds to them.
        self.claims = {**info, **payload}
        return self.claims

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return isinstance(claims.get("sub"), str) and bool(claims["sub"])

    def actor(self, username: str) -> Actor:
        request = self.request
        return Actor(
            name=f"{self.kind}:{username}"[:200],
            client_ip=getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR"),
            request_id=getattr(request, "request_id", "-"),
        )


def _username(prefix: str, subject: str) -> str:
    candidate = f"{prefix}:{subject}"
    if len(candidate) <= 150:
        return candidate
    return f"{prefix}:{hashlib.sha256(subject.encode()).hexdigest()}"


class StaffBackend(_ClientBackend):
    """Staff sign-in to admin: only a user the staff claim or the e-mail allow-list names
    becomes (and stays) staff; anyone else the provider knows is refused."""

    kind = STAFF

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        if not super().verify_claims(claims):
            return False
        claim, value = mcp_settings.STAFF_OIDC_CLAIM, mcp_settings.STAFF_OIDC_CLAIM_VALUE
        if claim and value and claim_matches(claims, claim, value):
            return True
        allowed = {email.lower() for email in mcp_settings.STAFF_OIDC_ALLOWED_EMAILS}
        email = claims.get("email")
        verified = claims.get("email_verified", False) is True
        return isinstance(email, str) and verified and email.lower() in allowed

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(username=_username("sso", claims["sub"]))

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = self.UserModel(
            username=_username("sso", claims["sub"]),
            email=claims.get("email", "") or "",
            is_staff=True,
            is_superuser=True,
        )
        user.set_unusable_password()
        user.save()
        return user

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        user.is_staff = user.is_superuser = True
        user.email = claims.get("email", user.email) or user.email
        user.save(update_fields=["is_staff", "is_superuser", "email"])
        return user

    def get_or_create_user(self, access_token: str, id_token: str, payload: Any) -> Any:
        user = super().get_or_create_user(access_token, id_token, payload)
        if user is not None:
            audit_record(
                actor=self.actor(user.get_username()),
                action="admin.sign_in",
                target=user.get_username(),
                details={"issuer": self.client.issuer if self.client else ""},
            )
        return user


class TenantBackend(_ClientBackend):
    """End users of one tenant, signed in at the tenant's identity provider: each becomes a
    member on first sign-in (an admin when the configured claim says so)."""

    kind = TENANT

    def _tenant_id(self) -> int:
        if self.current.tenant_id is None:
            raise RuntimeError("a tenant sign-in without a tenant")
        return self.current.tenant_id

    def tenant(self) -> Tenant:
        return Tenant.objects.get(pk=self._tenant_id())

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(
            memberships__tenant_id=self._tenant_id(), memberships__subject=claims["sub"]
        )

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = self.UserModel(
            username=_username(self.current.tenant_slug, claims["sub"]),
            email=claims.get("email", "") or "",
            first_name=str(claims.get("name", ""))[:150],
        )
        user.set_unusable_password()
        user.save()
        return user

    def get_or_create_user(self, access_token: str, id_token: str, payload: Any) -> Any:
        user = super().get_or_create_user(access_token, id_token, payload)
        if user is None or user.is_staff:
            return None  # a staff account signs in through admin, not a tenant's provider
        claims = self.claims
        client = self.current
        admin = (
            claim_matches(claims, client.admin_claim, client.admin_value)
            if client.admin_claim
            else None
        )
        services.member_signed_in(
            tenant=self.tenant(),
            user=user,
            subject=claims["sub"],
            admin=admin,
            actor=self.actor(user.get_username()),
        )
        return user


def callback_path() -> str:
    return reverse(CALLBACK_URL_NAME)


def canonical_callback() -> str:
    """The redirect URI registered at every provider: on the public URL, so the callback may
    be answered by any instance behind it."""
    return f"{mcp_settings.PUBLIC_URL}{callback_path()}"
