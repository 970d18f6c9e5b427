"""A revoked grant or client refuses the access tokens it already issued, at once.

The broker's access tokens are JWTs that name their grant (the refresh-token family) and
client; ``tenants.auth.grants`` refuses one whose family has no live refresh token left or
whose client was revoked at the tenant, and a cached principal of such a token belongs to
the family's and the client's cache groups. Here those groups are cleared on commit and
recorded in the revocation ledger (``tenants.auth.revocation``), the way a revoked API key's
are, so every instance refuses the tokens within ``REVOCATION_CHECK_INTERVAL`` whatever the
shared store did, and at once when it received the deletion.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import transaction
from oauth2_provider.models import RefreshToken

from tenants.auth.revocation import clear_groups_on_commit, client_group, grant_group
from tenants.models import BrokerClient, Revocation


def family_revoked(tenant_id: int, family: Any) -> None:
    """Call in the transaction that revoked ``family`` at the tenant."""
    clear_groups_on_commit(grant_group(tenant_id, str(family)))


def client_revoked(tenant_id: int, client_id: str) -> None:
    """Call in the transaction that revoked the client at the tenant."""
    clear_groups_on_commit(client_group(tenant_id, client_id))


def _dead_family(token: str, application_id: int | None = None) -> tuple[Any, int] | None:
    """The family of refresh token ``token``, and its client, if none of the family's
    members is live any more."""
    rows = RefreshToken.objects.filter(token_checksum=hashlib.sha256(token.encode()).hexdigest())
    if application_id is not None:
        rows = rows.filter(application_id=application_id)
    found = (
        rows.exclude(token_family__isnull=True)
        .values_list("token_family", "application_id")
        .first()
    )
    if found is None:
        return None
    if RefreshToken.objects.filter(token_family=found[0], revoked__isnull=True).exists():
        return None
    return found


@transaction.atomic
def _record_once(family: Any, application_id: int) -> None:
    # The family was issued at a tenant its client is linked to, not necessarily the one
    # the token came back to (a metadata-document client is linked to each tenant using it).
    tenant_ids = BrokerClient.objects.filter(application_id=application_id).values_list(
        "tenant_id", flat=True
    )
    groups = [grant_group(tenant_id, str(family)) for tenant_id in tenant_ids]
    # A client on a retry timer replays the same dead token: one record is enough (it is
    # kept longer than any cache entry made before it can live).
    if groups and not Revocation.objects.filter(group__in=groups).exists():
        clear_groups_on_commit(*groups)


def family_refused(refresh_token: str) -> None:
    """After the library refused a refresh token: if that left its family with no live token
    (reuse protection revoked it), the family's access tokens go too."""
    dead = _dead_family(refresh_token)
    if dead is not None:
        _record_once(*dead)


def refresh_token_revoked(token: str, request: Any) -> None:
    """After the revocation endpoint (RFC 7009) ran: a refresh token revoked there that was
    its family's last live one ends the family's access tokens as well."""
    application_id = getattr(request.client, "pk", None)
    if application_id is None:
        return
    dead = _dead_family(token, application_id)
    if dead is not None:
        _record_once(*dead)
