"""Frozen views of a tenant for the request path.

The authentication middleware hands the endpoint a ``TenantView`` built from the cached
configuration (``tenants.auth.tenantcache``), not a model instance: it has no database behind
it, so nothing on the request path can follow a relation and query by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenants.models import Tenant, resource_identifier, resource_metadata_url


@dataclass(frozen=True, slots=True)
class TenantView:
    id: int
    slug: str
    name: str
    status: str
    enabled_toolsets: tuple[str, ...]

    @property
    def pk(self) -> int:
        return self.id

    @property
    def is_active(self) -> bool:
        return self.status == Tenant.Status.ACTIVE

    @property
    def resource_identifier(self) -> str:
        return resource_identifier(self.slug)

    @property
    def resource_metadata_url(self) -> str:
        return resource_metadata_url(self.slug)

    @classmethod
    def of(cls, tenant: Tenant) -> TenantView:
        return cls(
            id=tenant.pk,
            slug=tenant.slug,
            name=tenant.name,
            status=tenant.status,
            enabled_toolsets=tuple(tenant.enabled_toolsets or ()),
        )


# What code that serves requests and code that manages tenants may both pass.
AnyTenant = Tenant | TenantView
