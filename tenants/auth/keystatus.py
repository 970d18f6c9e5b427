"""Whether each identity provider's signing keys can be fetched, recorded on its row.

``check`` fetches a provider's keys now (discovery included), shares them like any refresh and
writes what it found: when, the key ids, or the error. The admin shows it and runs it on save
and on demand; the refresh task and command run it for every enabled provider. The request
path never writes here: a cold fetch while serving is only logged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from mcpserver.conf import mcp_settings
from tenants import alerts
from tenants.audit import clean_text
from tenants.auth import jwks
from tenants.auth.tenantcache import provider_config
from tenants.models import IdentityProvider


@dataclass(frozen=True, slots=True)
class KeyCheck:
    ok: bool
    key_ids: tuple[str, ...] = ()
    error: str = ""


def check(provider: IdentityProvider) -> KeyCheck:
    """Fetch and share ``provider``'s keys now, and record the outcome. Blocking (network)."""
    now = timezone.now()
    rows = IdentityProvider.objects.filter(pk=provider.pk)
    try:
        keyset = jwks.refresh(provider_config(provider))
    except jwks.JwksError as exc:
        error = clean_text(str(exc), limit=500)
        rows.update(keys_checked_at=now, keys_error=error)
        return KeyCheck(ok=False, error=error)
    key_ids = tuple(sorted(str(key.get("kid") or "(no kid)") for key in keyset.keys))
    rows.update(keys_checked_at=now, keys_refreshed_at=now, keys_error="", key_ids=list(key_ids))
    return KeyCheck(ok=True, key_ids=key_ids)


def refresh_enabled(*, provider_id: int | None = None) -> list[tuple[str, KeyCheck]]:
    """``check`` every enabled provider of an active tenant (or one), each failure apart."""
    providers = IdentityProvider.objects.filter(enabled=True, tenant__status="active")
    if provider_id is not None:
        providers = providers.filter(pk=provider_id)
    results = []
    for provider in providers.select_related("tenant").order_by("pk"):
        outcome = check(provider)
        if not outcome.ok:
            jwks.logger.warning(
                "JWKS refresh for provider %s failed: %s", provider.pk, outcome.error
            )
        results.append((f"{provider.tenant.slug} {provider.issuer}", outcome))
    return results


@dataclass(frozen=True, slots=True)
class StaleKeys:
    provider_id: int
    label: str
    age_seconds: float | None  # None: never refreshed
    error: str


def find_stale(*, now: dt.datetime | None = None) -> list[StaleKeys]:
    """Enabled providers whose keys were not refreshed for longer than ``JWKS_CACHE_TTL``
    (the shared copy has expired, or is about to), each raised as an alert."""
    now = now or timezone.now()
    limit = now - dt.timedelta(seconds=float(mcp_settings.JWKS_CACHE_TTL))
    providers = IdentityProvider.objects.filter(enabled=True, tenant__status="active").filter(
        Q(keys_refreshed_at__lt=limit) | Q(keys_refreshed_at__isnull=True, created_at__lt=limit)
    )
    found = []
    for provider in providers.select_related("tenant").order_by("pk"):
        refreshed = provider.keys_refreshed_at
        age = None if refreshed is None else (now - refreshed).total_seconds()
        alerts.record_jwks_stale(
            provider_id=provider.pk,
            tenant_slug=provider.tenant.slug,
            issuer=provider.issuer,
            age_seconds=age,
            error=provider.keys_error,
        )
        label = f"{provider.tenant.slug} {provider.issuer}"
        found.append(StaleKeys(provider.pk, label, age, provider.keys_error))
    return found
