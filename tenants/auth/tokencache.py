"""The fast path: principals of validated credentials, cached in the shared store.

The key is ``auth:<tenant id>:<sha256 of the credential>``: neither the key nor the value holds
the credential. An entry never outlives the credential (nor ``AUTH_CACHE_TTL``) and belongs to
the groups that revoke it: ``tenant:<id>`` and ``apikey:<public id>`` or ``idp:<provider id>``
(a broker token also its grant's and client's, ``tenants.auth.grants``).
One credential is revoked by deleting its key: a group of its own would cost Redis about
300 bytes per cached token and save nothing. An entry also names its groups and carries their
revocation stamp (``tenants.auth.ledger``), so a revocation that never reached Redis, or that
Redis lost in a restart, still refuses it within ``REVOCATION_CHECK_INTERVAL``.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mcpserver.conf import mcp_settings
from sessions_store.store import get_store
from tenants.auth import background, ledger
from tenants.principal import AuthMethod, Principal


def cache_key(tenant_id: int, fingerprint: str) -> str:
    return f"auth:{tenant_id}:{fingerprint}"


def held_in_process(tenant_id: int, fingerprint: str) -> bool:
    """Whether a lookup would be answered by the process tier (for the metrics' path label)."""
    return get_store().held_in_process(cache_key(tenant_id, fingerprint))


@dataclass(frozen=True, slots=True)
class _Cached:
    principal: Principal
    groups: tuple[str, ...]
    stamp: Mapping[str, int]


def _dump(principal: Principal, groups: list[str], stamp: Mapping[str, int]) -> dict[str, Any]:
    return {
        "g": groups,
        "v": dict(stamp),
        "s": principal.subject,
        "m": str(principal.auth_method),
        "sc": sorted(principal.scopes),
        "e": principal.email,
        "x": principal.expires_at.timestamp() if principal.expires_at else None,
        "c": principal.credential_id,
    }


def _load(entry: Any, *, tenant_id: int, tenant_slug: str, fingerprint: str) -> _Cached | None:
    if not isinstance(entry, dict):
        return None
    expiry = entry.get("x")
    if expiry is not None and expiry <= time.time():
        return None
    try:
        principal = Principal(
            tenant_id=tenant_id,
            tenant_slug=tenant_slug,
            subject=entry["s"],
            auth_method=AuthMethod(entry["m"]),
            fingerprint=fingerprint,
            scopes=frozenset(entry["sc"]),
            email=entry["e"],
            expires_at=None if expiry is None else datetime.fromtimestamp(expiry, tz=UTC),
            credential_id=entry["c"],
        )
        groups, stamp = tuple(entry["g"]), entry["v"]
    except (KeyError, ValueError, TypeError):
        return None
    if not isinstance(stamp, dict) or not all(isinstance(g, str) for g in groups):
        return None
    return _Cached(principal=principal, groups=groups, stamp=stamp)


async def lookup(
    *, tenant_id: int, tenant_slug: str, fingerprint: str, view: ledger.View | None
) -> Principal | None:
    """The cached principal, unless ``view`` (the revocation ledger) shows it revoked since."""
    cached = await get_store().aget_view(
        cache_key(tenant_id, fingerprint),
        lambda entry: _load(
            entry, tenant_id=tenant_id, tenant_slug=tenant_slug, fingerprint=fingerprint
        ),
    )
    if cached is None or not ledger.still_current(view, cached.groups, cached.stamp):
        return None
    principal = cached.principal
    # The view outlives a single check: the credential's expiry is checked on every use.
    expires_at = principal.expires_at
    if expires_at is not None and expires_at.timestamp() <= time.time():
        return None
    return principal


def ttl_for(principal: Principal) -> float:
    ttl = float(mcp_settings.AUTH_CACHE_TTL)
    if principal.expires_at is not None:
        ttl = min(ttl, principal.expires_at.timestamp() - time.time())
    return ttl


def _store_then_verify(
    key: str, value: dict[str, Any], ttl: float, groups: list[str], still_valid: Callable[[], bool]
) -> None:
    store = get_store()
    store.set_json(key, value, ttl=ttl, groups=groups)
    # A revocation that committed while the credential was being validated cleared its
    # groups before this write landed: look again now that the entry exists, and drop it.
    if not still_valid():
        store.delete(key)


def groups_for(principal: Principal, groups: list[str]) -> list[str]:
    return [f"tenant:{principal.tenant_id}", *groups]


def remember(
    principal: Principal,
    *,
    groups: list[str],
    stamp: Mapping[str, int],
    still_valid: Callable[[], bool],
) -> None:
    """Cache ``principal`` in the background; the request does not wait for the write.

    ``stamp``: the revocation ledger's ids for the entry's groups as of the database state the
    validation relied on. ``still_valid`` reads the database after the write (the credential
    is not revoked, its tenant and provider are active), closing the race with a concurrent
    revocation.
    """
    ttl = ttl_for(principal)
    if ttl < 1:
        return
    all_groups = groups_for(principal, groups)
    background.spawn(
        _store_then_verify,
        cache_key(principal.tenant_id, principal.fingerprint),
        _dump(principal, all_groups, stamp),
        ttl,
        all_groups,
        still_valid,
    )
