"""A tenant's configuration (status, tool selection, enabled identity providers, rate
limits, its upstream servers and HTTP tools), cached.

One store entry per tenant slug holds everything the authenticator needs, so a request costs
one cache lookup instead of database queries. Entries are grouped under ``tenant:<id>``,
``tenantconf:<id>`` and ``idp:<provider id>``: suspending the tenant, changing its settings or
disabling a provider clears them on every instance. An entry also carries its revocation
stamp (``tenants.auth.ledger``): one whose groups were revoked since, which Redis may have kept
through an outage or a restart, is refused. Unknown and suspended slugs are remembered briefly
in this process only, so a flood of bad slugs does not reach the database.
"""

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mcpserver.conf import mcp_settings
from mcpserver.process import process_state
from sessions_store.store import get_store
from tenants.auth import background, ledger, outage
from tenants.models import IdentityProvider, Tenant
from tenants.snapshots import TenantView
from tenants.upstreams import config as own_tools

# How long an unknown or suspended slug is answered from memory. Creating or reactivating a
# tenant records its slug's group in the revocation ledger, which ends that answer on every
# instance within REVOCATION_CHECK_INTERVAL; suspension is immediate.
NEGATIVE_TTL = 5.0


def slug_group(slug: str) -> str:
    """The ledger group recorded when a slug starts naming an active tenant."""
    return f"slug:{slug}"


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    id: int
    issuer: str
    jwks_uri: str
    audience: str
    algorithms: tuple[str, ...]
    org_claim: str
    org_value: str
    scopes_claim: str
    allow_private_network: bool = False


@dataclass(frozen=True, slots=True)
class TenantConfig:
    tenant: TenantView
    providers: tuple[ProviderConfig, ...]
    rev: str
    # The revocation ledger's ids for groups_for(...) when this snapshot was read.
    stamp: Mapping[str, int] = field(default_factory=dict)
    # The cache groups a revocation of this configuration clears (checked on every request).
    groups: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        groups = groups_for(self.tenant.pk, [p.id for p in self.providers])
        object.__setattr__(self, "groups", tuple(groups))


def cache_key(slug: str) -> str:
    return f"authcfg:{slug}"


def groups_for(tenant_id: int, provider_ids: list[int]) -> list[str]:
    return [f"tenant:{tenant_id}", f"tenantconf:{tenant_id}"] + [
        f"idp:{pid}" for pid in provider_ids
    ]


def provider_fields(provider: IdentityProvider) -> dict[str, Any]:
    return {
        "id": provider.pk,
        "issuer": provider.issuer,
        "jwks_uri": provider.jwks_uri,
        "audience": provider.effective_audience,
        "algorithms": list(provider.algorithms),
        "org_claim": provider.org_claim,
        "org_value": provider.org_value,
        "scopes_claim": provider.scopes_claim,
        "allow_private_network": provider.allow_private_network,
    }


def provider_config(provider: IdentityProvider) -> ProviderConfig:
    fields = provider_fields(provider)
    return ProviderConfig(**{**fields, "algorithms": tuple(fields["algorithms"])})


def _snapshot(slug: str, view: ledger.View | None = None) -> dict[str, Any] | None:
    """``view``: the revocation ledger as read before this query (for the stamp)."""
    tenant = Tenant.objects.filter(slug=slug, status=Tenant.Status.ACTIVE).first()
    if tenant is None:
        return None
    providers = [
        provider_fields(p) for p in tenant.identity_providers.filter(enabled=True).order_by("pk")
    ]
    fields: dict[str, Any] = {
        "id": tenant.pk,
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "enabled_toolsets": tenant.enabled_toolsets,
        "rate_limit_tenant": tenant.rate_limit_tenant,
        "rate_limit_credential": tenant.rate_limit_credential,
        "disabled_tools": sorted(tenant.disabled_tools or ()),
    }
    own = own_tools.snapshot(tenant)
    if own is not None:  # absent for most tenants: their entries stay as they were
        fields["own_tools"] = own
    return {
        "rev": secrets.token_hex(8),
        "v": ledger.stamp(view, groups_for(tenant.pk, [p["id"] for p in providers])),
        "tenant": fields,
        "providers": providers,
    }


def _same(a: dict[str, Any] | None, b: dict[str, Any]) -> bool:
    return a is not None and (a["tenant"], a["providers"]) == (b["tenant"], b["providers"])


def _store_then_verify(slug: str, snapshot: dict[str, Any]) -> None:
    store = get_store()
    store.set_json(
        cache_key(slug),
        snapshot,
        ttl=mcp_settings.AUTH_TENANT_CACHE_TTL,
        groups=groups_for(snapshot["tenant"]["id"], [p["id"] for p in snapshot["providers"]]),
    )
    # A suspension or provider change that committed after the snapshot was read cleared the
    # groups before this write: read again now that the entry exists, and drop it if stale
    # (or if the database cannot say: an entry that was not verified is not kept).
    try:
        fresh = _snapshot(slug)
    except outage.OUTAGE_ERRORS:
        fresh = None
    if not _same(fresh, snapshot):
        store.delete(cache_key(slug))


def _build(snapshot: dict[str, Any]) -> TenantConfig:
    fields = snapshot["tenant"]
    tenant = TenantView(
        **{
            **fields,
            "enabled_toolsets": tuple(fields["enabled_toolsets"] or ()),
            # Absent from entries cached before the field existed.
            "disabled_tools": tuple(fields.get("disabled_tools") or ()),
            "own_tools": own_tools.from_snapshot(fields.get("own_tools")),
        }
    )
    providers = tuple(
        ProviderConfig(**{**p, "algorithms": tuple(p["algorithms"])}) for p in snapshot["providers"]
    )
    stamp = snapshot.get("v")
    return TenantConfig(
        tenant=tenant,
        providers=providers,
        rev=snapshot["rev"],
        stamp=stamp if isinstance(stamp, dict) else {},
    )


_built: dict[str, TenantConfig] = process_state.cache("tenantcache.built")
# slug -> (until when, the ledger's id for the slug's group then)
_absent: dict[str, tuple[float, int]] = process_state.cache("tenantcache.absent")


def _known_absent(slug: str, view: ledger.View | None) -> bool:
    entry = _absent.get(slug)
    if entry is None:
        return False
    until, seen = entry
    if until > time.monotonic() and view is not None and view.get(slug_group(slug), 0) == seen:
        return True
    _absent.pop(slug, None)
    return False


async def resolve(slug: str) -> TenantConfig | None:
    """The active tenant named ``slug`` with its enabled providers, or None (unknown or
    suspended: the caller answers both the same way). Raises ``DatabaseUnavailable`` when
    the tenant is not cached and the database cannot be asked."""
    view = await ledger.current_view()
    if _known_absent(slug, view):
        return None

    def from_cache(snapshot: Any) -> TenantConfig | None:
        if not isinstance(snapshot, dict) or "rev" not in snapshot:
            return None
        return _config_for(slug, snapshot)

    config = await get_store().aget_view(cache_key(slug), from_cache)
    if config is not None and ledger.still_current(view, config.groups, config.stamp):
        return config
    snapshot = await outage.db_call(_snapshot, slug, view)
    if snapshot is None:
        if len(_absent) > 10_000:
            _absent.clear()
        seen = view.get(slug_group(slug), 0) if view is not None else 0
        _absent[slug] = (time.monotonic() + NEGATIVE_TTL, seen)
        return None
    background.spawn(_store_then_verify, slug, snapshot)
    return _config_for(slug, snapshot)


def _config_for(slug: str, snapshot: dict[str, Any]) -> TenantConfig:
    known = _built.get(slug)
    if known is not None and known.rev == snapshot["rev"]:
        return known
    config = _build(snapshot)
    _built[slug] = config
    return config
