"""The broker's access tokens: short-lived ES256 JWTs signed with the tenant's broker key,
audience the tenant's resource, validated by ``tenants.auth`` like any tenant JWT."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

from oauth2_provider.settings import oauth2_settings

from tenants.models import Membership
from tenants.oauth import context, issuer, keys


def subject_of(user: Any, tenant_id: int) -> str:
    membership = Membership.objects.filter(user=user, tenant_id=tenant_id).first()
    if membership is not None and membership.subject:
        return membership.subject
    return f"user:{user.pk}"


def family_of(request: Any) -> uuid.UUID:
    """The refresh-token family this request issues in: the refreshed token's, or a new one
    chosen here, before the token is signed, for the refresh token saved after it
    (``BrokerValidator._create_refresh_token``)."""
    previous = getattr(request, "refresh_token_instance", None)
    family = getattr(previous, "token_family", None) or getattr(request, "broker_family", None)
    if family is None:
        family = uuid.uuid4()
    request.broker_family = family
    return family


def access_token(request: Any, refresh_token: bool = False) -> str:
    """oauthlib's token generator hook (``ACCESS_TOKEN_GENERATOR``). The token names its
    grant (the refresh-token family) and client, so revoking either refuses it at once."""
    tenant = context.tenant()
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer.issuer(tenant),
        "aud": tenant.resource_identifier,
        "sub": subject_of(request.user, tenant.pk),
        "client_id": request.client_id or request.client.client_id,
        "scope": " ".join(request.scopes or []),
        "iat": now,
        "exp": now + int(oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS),
        "jti": secrets.token_urlsafe(16),
        "grant": str(family_of(request)),
    }
    email = getattr(request.user, "email", "")
    if email:
        claims["email"] = email
    return keys.sign(tenant, claims)
