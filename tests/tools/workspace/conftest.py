"""Workspace fixtures: tenants with the tool set, and requirements made through the services."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tenants.audit import Actor
from tenants.models import Tenant

# The live server of the interop tests (uvicorn in a thread on the test database).
from tests.interop.conftest import asgi_server  # noqa: F401
from tools.workspace import services
from tools.workspace.models import Requirement


@pytest.fixture
def make_requirement(actor: Actor) -> Callable[..., Requirement]:
    def make(tenant: Tenant, title: str = "Export invoices as CSV", **kwargs: Any) -> Requirement:
        kwargs.setdefault("created_by", "alice")
        return services.requirement_create(tenant_id=tenant.pk, title=title, actor=actor, **kwargs)

    return make


@dataclass
class Workspace:
    """A live tenant with the workspace tool set, its keys, and a neighbouring tenant."""

    url: str
    key: str
    read_only_key: str
    tenant: Tenant
    other: Tenant


@pytest.fixture
def workspace(
    asgi_server: str,  # noqa: F811 (the fixture imported above)
    make_tenant: Callable[..., Tenant],
    make_api_key: Callable[..., Any],
) -> Workspace:
    tenant = make_tenant("team", toolsets=["builtin", "workspace"])
    other = make_tenant("neighbour", toolsets=["builtin", "workspace"])
    _k, key = make_api_key(tenant, scopes=["workspace:read", "workspace:write"])
    _r, read_only = make_api_key(tenant, name="reader", scopes=["workspace:read"])
    return Workspace(
        url=f"{asgi_server}/mcp/{tenant.slug}",
        key=key,
        read_only_key=read_only,
        tenant=tenant,
        other=other,
    )
