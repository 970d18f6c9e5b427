"""What an operator or a member does to the broker's clients and grants: revoke them.

A grant is a refresh-token family (django-oauth-toolkit's ``token_family``): what one person
allowed one client, renewed by each refresh. Revoking it revokes every token of the family,
and the access tokens already issued from it are refused at once on every instance
(``tenants.oauth.revoking``); revoking a client does the same for all of its tokens."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from oauth2_provider.models import RefreshToken

from tenants.audit import Actor, audit_record
from tenants.models import BrokerClient, BrokerGrant, Membership, Tenant
from tenants.oauth import revoking


def live_grants(tenant: Tenant) -> QuerySet[BrokerGrant]:
    """The tenant's live grants: unrevoked refresh tokens of its members, held by clients
    linked to it (a person who is a member of two tenants and uses one metadata-document
    client at both is counted at both)."""
    return BrokerGrant.objects.filter(
        revoked__isnull=True,
        application__broker_links__tenant=tenant,
        user__memberships__tenant=tenant,
    ).distinct()


def _revoke_families(families: list[Any]) -> int:
    for family in families:
        RefreshToken.revoke_family(family)
    return len(families)


@transaction.atomic
def oauth_grant_revoke(*, tenant: Tenant, grant: RefreshToken, actor: Actor) -> None:
    """Revoke one grant (its whole family) at ``tenant``."""
    if not live_grants(tenant).filter(pk=grant.pk).exists():
        return  # already revoked, or not this tenant's: nothing to record
    if grant.token_family:
        RefreshToken.revoke_family(grant.token_family)
        revoking.family_revoked(tenant.pk, grant.token_family)
    else:  # issued before reuse protection gave every token a family
        grant.revoke()
    audit_record(
        actor=actor,
        action="oauth.grant_revoke",
        tenant=tenant,
        target=str(grant.application.client_id),
        details={"user": grant.user.get_username(), "family": str(grant.token_family or "")},
    )


@transaction.atomic
def oauth_client_revoke(*, link: BrokerClient, actor: Actor) -> int:
    """Refuse the client at the link's tenant from now on and revoke its live grants there;
    returns how many grants were revoked."""
    locked = BrokerClient.objects.select_for_update().get(pk=link.pk)
    if locked.revoked_at is not None:
        return 0
    families = list(
        live_grants(locked.tenant)
        .filter(application_id=locked.application_id)
        .values_list("token_family", flat=True)
    )
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    revoked = _revoke_families([family for family in families if family])
    revoking.client_revoked(locked.tenant_id, str(locked.application.client_id))
    audit_record(
        actor=actor,
        action="oauth.client_revoke",
        tenant=locked.tenant,
        target=str(locked.application.client_id),
        details={"name": locked.application.name, "grants_revoked": revoked},
    )
    return revoked


def member_grants_revoke(*, membership: Membership) -> int:
    """Revoke every live grant of this member at their tenant (sign out everywhere; the
    caller's transaction and audit record cover it). Returns how many."""
    grants = live_grants(membership.tenant).filter(user_id=membership.user_id)
    families = {family for family in grants.values_list("token_family", flat=True) if family}
    unfamilied = list(grants.filter(token_family__isnull=True))
    for grant in unfamilied:
        grant.revoke()
    return _revoke_families(list(families)) + len(unfamilied)
