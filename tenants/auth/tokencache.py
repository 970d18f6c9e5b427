"""The fast path: principals of validated credentials, cached in the shared store.

The key is ``auth:<tenant id>:<sha256 of the credential>``: neither the key nor the value holds
the credential. An entry never outlives the credential (nor ``AUTH_CACHE_TTL``) and belongs to
the groups that revoke it: ``tenant:<id>``, ``principal:<fingerprint>`` and ``apikey:<public
id>`` or ``idp:<provider id>``.
"""

import time
from datetime import UTC, datetime
from typing import Any

from mcpserver.conf import mcp_settings
from sessions_store.store import get_store
from tenants.principal import AuthMethod, Principal


def cache_key(tenant_id: int, fingerprint: str) -> str:
    return f"auth:{tenant_id}:{fingerprint}"


def _dump(principal: Principal) -> dict[str, Any]:
    return {
        "s": principal.subject,
        "m": str(principal.auth_method),
        "sc": sorted(principal.scopes),
        "e": principal.email,
        "x": principal.expires_at.timestamp() if principal.expires_at else None,
        "c": principal.credential_id,
    }


def _load(entry: Any, *, tenant_id: int, tenant_slug: str, fingerprint: str) -> Principal | None:
    if not isinstance(entry, dict):
        return None
    expiry = entry.get("x")
    if expiry is not None and expiry <= time.time():
        return None
    try:
        return Principal(
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
    except (KeyError, ValueError, TypeError):
        return None


async def lookup(*, tenant_id: int, tenant_slug: str, fingerprint: str) -> Principal | None:
    entry = await get_store().aget_json(cache_key(tenant_id, fingerprint))
    return _load(entry, tenant_id=tenant_id, tenant_slug=tenant_slug, fingerprint=fingerprint)


def ttl_for(principal: Principal) -> float:
    ttl = float(mcp_settings.AUTH_CACHE_TTL)
    if principal.expires_at is not None:
        ttl = min(ttl, principal.expires_at.timestamp() - time.time())
    return ttl


async def remember(principal: Principal, *, groups: list[str]) -> None:
    ttl = ttl_for(principal)
    if ttl < 1:
        return
    await get_store().aset_json(
        cache_key(principal.tenant_id, principal.fingerprint),
        _dump(principal),
        ttl=ttl,
        groups=[f"tenant:{principal.tenant_id}", f"principal:{principal.fingerprint}", *groups],
    )
