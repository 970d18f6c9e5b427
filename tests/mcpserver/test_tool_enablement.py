"""A tenant's disabled tools, through the real ASGI application: not listed, not callable."""

import pytest

from tenants import services
from tenants.models import Tenant
from tests.mcpserver.conftest import Endpoint

pytestmark = pytest.mark.django_db(transaction=True)


def _names(endpoint: Endpoint) -> list[str]:
    response = endpoint.modern("tools/list")
    assert response.status == 200, response.body
    return [tool["name"] for tool in response.message()["result"]["tools"]]


def test_a_disabled_tool_is_neither_listed_nor_callable_in_either_era(endpoint, actor):
    assert "test_simple_text" in _names(endpoint)  # the tenant's configuration is now cached
    tenant = Tenant.objects.get(slug=endpoint.slug)
    # the commit clears the cache
    services.tenant_set_tools(tenant=tenant, disable_tools=["test_simple_text"], actor=actor)

    names = _names(endpoint)
    assert "test_simple_text" not in names and "test_image_content" in names
    refused = endpoint.modern("tools/call", {"name": "test_simple_text", "arguments": {}})
    assert refused.message()["error"]["code"] == -32602
    assert "Unknown tool" in refused.message()["error"]["message"]

    session = endpoint.initialize()
    listed = endpoint.legacy(session, "tools/list").message()["result"]["tools"]
    assert "test_simple_text" not in [tool["name"] for tool in listed]
    call = endpoint.legacy(session, "tools/call", {"name": "test_simple_text", "arguments": {}})
    assert call.message()["error"]["code"] == -32602

    services.tenant_set_tools(tenant=tenant, enable_tools=["test_simple_text"], actor=actor)
    assert "test_simple_text" in _names(endpoint)
