"""Frozen views of a tenant for the request path.

The authentication middleware hands the endpoint a ``TenantView`` built from the cached
configuration (``tenants.auth.tenantcache``), not a model instance: it has no database behind
it, so nothing on the request path can follow a relation and query by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenants.models import Tenant, TenantFacts
from tenants.upstreams.config import OwnTools


@dataclass(frozen=True, slots=True)
class TenantView(TenantFacts):
    id: int
    slug: str
    name: str
    status: str
    enabled_toolsets: tuple[str, ...]
    # As stored on the tenant ("", "off" or "N/PERIOD"; tenants.ratelimit_rates). Defaults
    # for configurations cached before these existed.
    rate_limit_tenant: str = ""
    rate_limit_credential: str = ""
    # Sorted, so equal selections share one cached catalogue (tools.registry.catalogue_for).
    disabled_tools: tuple[str, ...] = ()
    # Its upstream MCP servers and HTTP tools; None (most tenants) when it has none, so the
    # catalogue of such a tenant is the static registry's, exactly as before they existed.
    own_tools: OwnTools | None = None

    @property
    def pk(self) -> int:
        return self.id


# What code that serves requests and code that manages tenants may both pass.
AnyTenant = Tenant | TenantView
