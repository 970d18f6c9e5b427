"""The request path gets a frozen view of the tenant, never a model instance that can query."""

import dataclasses

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.auth import background, tenantcache
from tenants.snapshots import TenantView

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_resolved_tenant_is_a_frozen_view(shared_store, make_tenant):
    tenant = make_tenant("acme", toolsets=["builtin"])
    config = async_to_sync(tenantcache.resolve)("acme")
    assert config is not None
    view = config.tenant
    assert isinstance(view, TenantView)
    assert (view.pk, view.slug, view.enabled_toolsets) == (tenant.pk, "acme", ("builtin",))
    assert view.resource_metadata_url == tenant.resource_metadata_url
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.slug = "other"
    # What a model instance would fetch lazily is simply not there.
    assert not hasattr(view, "identity_providers") and not hasattr(view, "api_keys")


def test_a_cached_tenant_costs_no_query(shared_store, make_tenant):
    make_tenant("acme")

    async def warm() -> None:
        await tenantcache.resolve("acme")
        await background.drain()  # the cache entry is written off the request path

    async_to_sync(warm)()
    with CaptureQueriesContext(connection) as queries:
        config = async_to_sync(tenantcache.resolve)("acme")
        assert config is not None and config.tenant.is_active
    assert [q["sql"] for q in queries if "revocation" not in q["sql"].lower()] == []
