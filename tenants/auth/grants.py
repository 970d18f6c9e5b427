"""The grant behind one of the broker's own access tokens, and whether it still stands.

The broker (``tenants.oauth``) names in each access token the refresh-token family it was
issued from (``grant``) and the client (``client_id``). Revoking the family (an operator, or
the family's old refresh token replayed) or the client at the tenant must refuse the access
tokens already out, not let them live out their lifetime. Checked the way "sign out
everywhere" is: full validation reads the database (here, whether the family still has a
live refresh token of a client still linked to the tenant); a cached principal belongs to
the family's and the client's groups, which the revocation clears from the shared store on
commit and records in the ledger, so no request pays a query or a Redis round trip for it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from oauth2_provider.models import RefreshToken

from tenants.auth import jwtkit
from tenants.auth.revocation import client_group, grant_group
from tenants.auth.tenantcache import TenantConfig
from tenants.oauth import issuer


@dataclass(frozen=True, slots=True)
class Grant:
    tenant_id: int
    family: str
    client_id: str

    @property
    def groups(self) -> list[str]:
        return [
            grant_group(self.tenant_id, self.family),
            client_group(self.tenant_id, self.client_id),
        ]


def of(config: TenantConfig, provider_issuer: str, token: str) -> Grant | None:
    """The grant of a verified token when the tenant's own broker issued it; None for any
    other issuer's token (its claims mean nothing here)."""
    if provider_issuer != issuer.issuer_of(config.tenant.slug):
        return None
    # Our own token without a grant names nothing that could still stand: refused (the
    # broker names one in every token), not trusted for the rest of its lifetime.
    family = jwtkit.string_claim(token, "grant") or ""
    client_id = jwtkit.string_claim(token, "client_id") or ""
    return Grant(tenant_id=config.tenant.pk, family=family, client_id=client_id)


def still_stands(grant: Grant) -> bool:
    """Whether the family has a live refresh token held by a client still linked to the
    tenant (one query). Rotation keeps one live row per family; revoking the family, or the
    client's only refresh token through the revocation endpoint, leaves none."""
    try:
        family = uuid.UUID(grant.family)
    except ValueError:
        return False
    return RefreshToken.objects.filter(
        token_family=family,
        revoked__isnull=True,
        application__client_id=grant.client_id,
        application__broker_links__tenant_id=grant.tenant_id,
        application__broker_links__revoked_at__isnull=True,
    ).exists()
