"""Who is asking: a Bearer credential (API key or JWT) turned into a ``Principal``.

The order is the cheap one first: the cached principal (process tier, then the encrypted
shared tier) under the tenant and the credential's SHA-256; then either the API key lookup or
full JWT validation against the tenant's enabled identity providers, whose result is cached
for next time. Every outcome is counted by the path it took (``mcp_authentications_total``).
"""

import hashlib
from datetime import UTC, datetime
from functools import partial
from typing import Any

from mcpserver.conf import mcp_settings
from mcpserver.observability.series import observe_authentication
from mcpserver.refusals import InvalidCredentialRequest, InvalidToken, MissingCredential
from tenants import key_material
from tenants.auth import apikeys, auditing, grants, jwks, jwtkit, ledger, outage, tokencache
from tenants.auth.revocation import subject_group
from tenants.auth.tenantcache import ProviderConfig, TenantConfig
from tenants.models import IdentityProvider, SubjectSignOut, Tenant
from tenants.principal import AuthMethod, Principal


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if authorization is None or not authorization.strip():
        raise MissingCredential()
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise InvalidCredentialRequest(
            "Send the credential as 'Authorization: Bearer <token>'.", reason="malformed header"
        )
    return token


def scopes_from_claims(claims: dict[str, Any], claim: str) -> frozenset[str]:
    values: list[str] = []
    for name in [claim] if claim else ["scope", "scp"]:
        value = claims.get(name)
        if isinstance(value, str):
            values.extend(value.split())
        elif isinstance(value, list):
            values.extend(item for item in value if isinstance(item, str))
    return frozenset(values)


def _provider_for(config: TenantConfig, issuer: str) -> ProviderConfig:
    for provider in config.providers:
        if provider.issuer == issuer:
            return provider
    raise InvalidToken("The access token's issuer is not trusted.", reason="unknown issuer")


async def validate_jwt(config: TenantConfig, token: str, fingerprint: str) -> tuple[Principal, int]:
    """Full validation; returns the principal and the id of the provider that vouched."""
    seen = jwtkit.peek(token)
    provider = _provider_for(config, seen.issuer)
    if seen.alg not in provider.algorithms:
        raise InvalidToken(
            "The token's signing algorithm is not accepted.",
            reason="algorithm not enabled for this provider",
            client_text=seen.alg,
        )
    key = await jwks.signing_key(provider, kid=seen.kid, alg=seen.alg)
    if key is None:
        raise InvalidToken(
            "The token's signing key is not known.",
            reason="unknown kid",
            client_text=repr(seen.kid),
        )
    claims = jwtkit.decode(
        token,
        key=key,
        algorithm=seen.alg,
        issuer=provider.issuer,
        audience=provider.audience,
        leeway=mcp_settings.JWT_LEEWAY,
    )
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("The access token names no subject.", reason="no sub")
    if provider.org_claim and claims.get(provider.org_claim) != provider.org_value:
        raise InvalidToken(
            "The access token was issued for another organization.", reason="org mismatch"
        )
    email = claims.get("email")
    principal = Principal(
        tenant_id=config.tenant.pk,
        tenant_slug=config.tenant.slug,
        subject=subject,
        auth_method=AuthMethod.JWT,
        fingerprint=fingerprint,
        scopes=scopes_from_claims(claims, provider.scopes_claim),
        email=email if isinstance(email, str) and email else None,
        expires_at=datetime.fromtimestamp(float(claims["exp"]), tz=UTC),
        credential_id=provider.issuer,
    )
    return principal, provider.id


async def authenticate(
    config: TenantConfig, authorization: str | None, *, client_ip: str | None = None
) -> Principal:
    """The principal behind ``authorization`` at this tenant, or an ``AuthFailure``."""
    tenant = config.tenant
    path = "none"  # which path decided: none (no usable header), process, shared, api_key, jwt
    try:
        token = bearer_token(authorization)
        fingerprint = hashlib.sha256(token.encode()).hexdigest()
        # Read before the database is: a stamp never claims more than validation saw.
        view = await ledger.current_view()
        path = "process" if tokencache.held_in_process(tenant.pk, fingerprint) else "shared"
        principal = await tokencache.lookup(
            tenant_id=tenant.pk, tenant_slug=tenant.slug, fingerprint=fingerprint, view=view
        )
        if principal is None:
            path = _path_for(token)
            principal = await _validate(config, token, fingerprint, view)
    except (MissingCredential, InvalidCredentialRequest, InvalidToken) as failure:
        result = "missing" if isinstance(failure, MissingCredential) else failure.error
        observe_authentication(tenant=tenant.slug, path=path, result=result)
        if not isinstance(failure, MissingCredential):
            auditing.failure(tenant=tenant, client_ip=client_ip, failure=failure)
        raise
    observe_authentication(tenant=tenant.slug, path=path, result="ok")
    if principal.auth_method is AuthMethod.API_KEY:
        apikeys.touch(principal.credential_id)
    auditing.first_use(tenant=tenant, principal=principal, client_ip=client_ip)
    return principal


def _path_for(token: str) -> str:
    if key_material.looks_like_api_key(token):
        return "api_key"
    return "jwt" if jwtkit.looks_like_jwt(token) else "none"


async def _validate(
    config: TenantConfig, token: str, fingerprint: str, view: ledger.View | None
) -> Principal:
    tenant = config.tenant
    if key_material.looks_like_api_key(token):
        principal = await apikeys.validate(tenant=tenant, digest=fingerprint)
        groups = [f"apikey:{principal.credential_id}", subject_group(tenant.pk, principal.subject)]
        tokencache.remember(
            principal,
            groups=groups,
            stamp=ledger.stamp(view, tokencache.groups_for(principal, groups)),
            still_valid=partial(apikeys.still_usable, principal.credential_id),
        )
        return principal
    if not jwtkit.looks_like_jwt(token):
        raise InvalidToken("The access token is malformed.", reason="neither API key nor JWT")
    principal, provider_id = await validate_jwt(config, token, fingerprint)
    grant = grants.of(config, principal.credential_id, token)
    refusal = await outage.db_call(revoked_because, tenant.pk, principal.subject, token, grant)
    if refusal is not None:
        raise InvalidToken("The access token has been revoked.", reason=refusal)
    groups = [f"idp:{provider_id}", subject_group(tenant.pk, principal.subject)]
    if grant is not None:
        groups.extend(grant.groups)
    tokencache.remember(
        principal,
        groups=groups,
        # A token is as good as the provider settings it was checked against: the config's.
        # (A revoked grant or client never issues again, so its groups need no stamp.)
        stamp=ledger.stamp(config.stamp, tokencache.groups_for(principal, groups)),
        still_valid=partial(_still_valid, provider_id, grant),
    )
    return principal


def revoked_because(
    tenant_id: int, subject: str, token: str, grant: grants.Grant | None
) -> str | None:
    """Why a verified token is revoked (the subject signed out everywhere since it was
    issued, or the broker grant it came from was revoked), or None; one thread hop."""
    if signed_out_since(tenant_id, subject, token):
        return "subject signed out"
    if grant is not None and not grants.still_stands(grant):
        return "grant revoked"
    return None


def _still_valid(provider_id: int, grant: grants.Grant | None) -> bool:
    if grant is not None and not grants.still_stands(grant):
        return False
    return provider_still_enabled(provider_id)


def signed_out_since(tenant_id: int, subject: str, token: str) -> bool:
    """Whether the subject signed out everywhere after this token was issued (a token that
    says nothing of when it was issued counts as issued before)."""
    signed_out = (
        SubjectSignOut.objects.filter(tenant_id=tenant_id, subject=subject)
        .values_list("at", flat=True)
        .first()
    )
    if signed_out is None:
        return False
    issued = jwtkit.issued_at(token)
    return issued is None or issued <= signed_out.timestamp()


def provider_still_enabled(provider_id: int) -> bool:
    """Read again after caching: the provider is enabled and its tenant active."""
    return IdentityProvider.objects.filter(
        pk=provider_id, enabled=True, tenant__status=Tenant.Status.ACTIVE
    ).exists()
