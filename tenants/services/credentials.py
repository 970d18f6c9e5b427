"""Changes to a tenant's identity providers and API keys."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tenants import key_material
from tenants.audit import Actor, audit_record
from tenants.auth.revocation import clear_groups_on_commit
from tenants.models import ApiKey, IdentityProvider, Tenant


@transaction.atomic
def identity_provider_create(
    *,
    tenant: Tenant,
    issuer: str,
    jwks_uri: str = "",
    audience: str = "",
    algorithms: list[str] | None = None,
    org_claim: str = "",
    org_value: str = "",
    scopes_claim: str = "",
    allow_private_network: bool = False,
    actor: Actor,
) -> IdentityProvider:
    provider = IdentityProvider(
        tenant=tenant,
        issuer=issuer,
        jwks_uri=jwks_uri,
        audience=audience,
        org_claim=org_claim,
        org_value=org_value,
        scopes_claim=scopes_claim,
        allow_private_network=allow_private_network,
    )
    if algorithms is not None:
        provider.algorithms = algorithms
    provider.full_clean()
    provider.save()
    audit_record(
        actor=actor,
        action="identity_provider.create",
        tenant=tenant,
        target=issuer,
        details=identity_provider_summary(provider),
    )
    clear_groups_on_commit(f"tenantconf:{tenant.pk}")
    return provider


@transaction.atomic
def identity_provider_update(
    *, provider: IdentityProvider, changes: dict[str, Any], actor: Actor
) -> IdentityProvider:
    """Apply field changes made elsewhere (the admin form) and record what changed."""
    provider.full_clean()
    provider.save()
    audit_record(
        actor=actor,
        action="identity_provider.update",
        tenant=provider.tenant,
        target=provider.issuer,
        details={key: _jsonable(value) for key, value in changes.items()},
    )
    # Tokens accepted under the old settings (audience, issuer, org) are validated again.
    clear_groups_on_commit(f"idp:{provider.pk}", f"tenantconf:{provider.tenant_id}")
    return provider


@transaction.atomic
def identity_provider_set_enabled(
    *, provider: IdentityProvider, enabled: bool, actor: Actor
) -> IdentityProvider:
    if provider.enabled == enabled:
        return provider
    provider.enabled = enabled
    provider.save(update_fields=["enabled", "updated_at"])
    audit_record(
        actor=actor,
        action="identity_provider.enable" if enabled else "identity_provider.disable",
        tenant=provider.tenant,
        target=provider.issuer,
    )
    clear_groups_on_commit(f"idp:{provider.pk}", f"tenantconf:{provider.tenant_id}")
    return provider


def identity_provider_summary(provider: IdentityProvider) -> dict[str, Any]:
    return {
        "issuer": provider.issuer,
        "jwks_uri": provider.jwks_uri,
        "audience": provider.audience,
        "algorithms": provider.algorithms,
        "org_claim": provider.org_claim,
        "org_value": provider.org_value,
        "scopes_claim": provider.scopes_claim,
        "allow_private_network": provider.allow_private_network,
    }


@transaction.atomic
def api_key_create(
    *,
    tenant: Tenant,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    actor: Actor,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw secret, which exists only in this return value."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    material = key_material.generate_key()
    key = ApiKey(
        tenant=tenant,
        name=name,
        public_id=key_material.generate_public_id(),
        digest=material.digest,
        last_four=material.last_four,
        scopes=list(scopes or []),
        expires_at=expires_at,
        created_by=actor.name[:200],
    )
    key.full_clean()
    key.save()
    audit_record(
        actor=actor,
        action="api_key.create",
        tenant=tenant,
        target=key.public_id,
        details={
            "name": name,
            "scopes": key.scopes,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return key, material.raw


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: Actor) -> ApiKey:
    locked = ApiKey.objects.select_for_update(no_key=True).select_related("tenant").get(pk=key.pk)
    if locked.revoked_at is not None:
        return locked
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor, action="api_key.revoke", tenant=locked.tenant, target=locked.public_id
    )
    clear_groups_on_commit(f"apikey:{locked.public_id}")
    key.revoked_at = locked.revoked_at
    return locked


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool, type(None), list, dict)):
        return value
    return str(value)
