"""Workspace fixtures: tenants with the tool set, and requirements made through the services."""

from collections.abc import Callable
from typing import Any

import pytest

from tenants.audit import Actor
from tenants.models import Tenant
from tools.workspace import services
from tools.workspace.models import Requirement


@pytest.fixture
def make_requirement(actor: Actor) -> Callable[..., Requirement]:
    def make(tenant: Tenant, title: str = "Export invoices as CSV", **kwargs: Any) -> Requirement:
        kwargs.setdefault("created_by", "alice")
        return services.requirement_create(tenant_id=tenant.pk, title=title, actor=actor, **kwargs)

    return make
