"""API key validation: format check, digest lookup, state checks, throttled last-used writes."""

import time
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from mcpserver.conf import mcp_settings
from mcpserver.process import process_state
from mcpserver.refusals import InvalidToken
from tenants import selectors
from tenants.auth import background, outage
from tenants.models import ApiKey, Tenant
from tenants.principal import AuthMethod, Principal
from tenants.snapshots import AnyTenant

# public id -> monotonic time of the last last_used_at write from this process
_last_used_written: dict[str, float] = process_state.cache("apikeys.last_used_written")


def _check(key: ApiKey | None, tenant: AnyTenant) -> ApiKey:
    # A key of another tenant is answered like an unknown one: it says nothing about others.
    if key is None or key.tenant_id != tenant.pk:
        raise InvalidToken("The API key is not valid.", reason="unknown key")
    if key.is_revoked:
        raise InvalidToken("The API key has been revoked.", reason=f"revoked key {key.public_id}")
    if key.is_expired:
        raise InvalidToken("The API key has expired.", reason=f"expired key {key.public_id}")
    if not key.tenant.is_active:
        raise InvalidToken("The API key is not valid.", reason="tenant suspended")
    return key


async def validate(*, tenant: AnyTenant, digest: str) -> Principal:
    """The principal of the key whose SHA-256 is ``digest`` (the caller did the format check).
    Raises ``DatabaseUnavailable`` when the database cannot be asked."""
    key = _check(await outage.db_call(selectors.api_key_get_by_digest, digest=digest), tenant)
    return Principal(
        tenant_id=tenant.pk,
        tenant_slug=tenant.slug,
        subject=f"apikey:{key.public_id}",
        auth_method=AuthMethod.API_KEY,
        fingerprint=digest,
        scopes=frozenset(key.scopes),
        expires_at=key.expires_at,
        credential_id=key.public_id,
    )


def still_usable(public_id: str) -> bool:
    """Read again after caching: not revoked, not expired, its tenant active."""
    return (
        ApiKey.objects.usable()
        .filter(public_id=public_id, tenant__status=Tenant.Status.ACTIVE)
        .exists()
    )


def _write_last_used(public_id: str, interval: float) -> None:
    now = timezone.now()
    # The condition keeps instances from writing more than once per interval between them.
    ApiKey.objects.filter(public_id=public_id).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - timedelta(seconds=interval))
    ).update(last_used_at=now)


def touch(public_id: str) -> None:
    """Note a use; writes last_used_at at most once per API_KEY_LAST_USED_INTERVAL per key."""
    interval = float(mcp_settings.API_KEY_LAST_USED_INTERVAL)
    now = time.monotonic()
    if now - _last_used_written.get(public_id, -interval) < interval:
        return
    if len(_last_used_written) > 100_000:
        _last_used_written.clear()
    _last_used_written[public_id] = now
    background.spawn(_write_last_used, public_id, interval)
