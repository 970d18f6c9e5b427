"""An operator onboards a customer in the admin, in a real browser, with debug off: sign in,
read the dashboard, create a tenant with its tools, attach an identity provider whose keys
are fetched on save, create an API key (shown once, with ready configurations), reload the
key page without creating a second key, and the key works against the tenant's endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.browser.conftest import ProductionServer, sign_in
from tests.tenants.auth.idp import LoopbackIdP, new_key

pytestmark = pytest.mark.own_database
MODERN = "2026-07-28"


@pytest.fixture
def idp() -> Iterator[LoopbackIdP]:
    server = LoopbackIdP(keys=[new_key("RS256", "acme-signing-1")]).start()
    yield server
    server.stop()


def _whoami(endpoint: str, key: str) -> dict[str, Any]:
    body = {
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {},
                   "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                             "io.modelcontextprotocol/clientCapabilities": {}}},
    }  # fmt: skip
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": "whoami",
    }
    answer = httpx2.post(endpoint, content=json.dumps(body), headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["result"]["structuredContent"])


def _fits(page: Any, selector: str) -> bool:
    """Whether ``selector``'s content fits its width (no sideways scrolling at 1280 px)."""
    return bool(page.eval_on_selector(selector, "e => e.scrollWidth <= e.clientWidth + 1"))


def test_an_operator_onboards_a_tenant(
    page: Any, production_server: ProductionServer, idp: LoopbackIdP
):
    shots = page.screenshots
    sign_in(page, production_server)
    assert "active tenants" in page.inner_text("#dashboard")
    shots.take(page, "dashboard")

    # The tenant, with its tool sets described; saving leads on to its own page.
    page.goto(production_server.url + "/admin/tenants/tenant/add/")
    page.fill("#id_slug", "acme")
    page.fill("#id_name", "Acme Corp")
    page.check("input[name=enabled_toolsets][value=workspace]")
    assert "requirements" in page.inner_text("#tenant_form").lower()  # sets come with descriptions
    shots.take(page, "tenant-add")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    assert "/change/" in page.url
    assert "Next: add its identity provider or create an API key" in page.inner_text(".messagelist")
    form = page.inner_text("#tenant_form")
    assert f"{production_server.url}/mcp/acme" in form
    shots.take(page, "tenant-page")

    # An identity provider: its keys are fetched on save, and the result is shown.
    page.locator("a[href*='identityprovider/add/?tenant=']").first.click()
    page.fill("#id_issuer", idp.issuer)
    page.check("#id_allow_private_network")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist")
    assert "Signing keys fetched" in page.inner_text(".messagelist")
    assert "acme-signing-1" in page.inner_text("#identityprovider_form")
    shots.take(page, "identity-provider")
    page.click("text=Test connection")
    page.wait_for_selector(".messagelist")
    assert "acme-signing-1" in page.inner_text(".messagelist")

    # An API key: shown once after the redirect, with ready configurations and copy buttons.
    page.goto(production_server.url + "/admin/tenants/apikey/add/")
    page.select_option("#id_tenant", label="acme")
    page.fill("#id_name", "laptop")
    page.fill("#id_scopes", "workspace:read workspace:write")
    page.click("input[name=_save]")
    page.wait_for_selector("#raw-api-key")
    raw = page.inner_text("#raw-api-key").strip()
    assert raw.startswith("mcpk_")
    assert "claude mcp add --transport http acme" in page.inner_text("#config-claude-code")
    assert json.loads(page.inner_text("#config-mcp-servers"))["mcpServers"]["acme"]["url"]
    page.click("button[data-copy=raw-api-key]")
    page.wait_for_selector("button[data-copy=raw-api-key]:has-text('Copied')")
    shots.take(page, "api-key-created")
    created_url = page.url
    page.reload()
    page.wait_for_selector("#key-already-shown")
    assert raw not in page.content()
    shots.take(page, "api-key-reloaded")
    count = production_server.shell(
        "from tenants.models import ApiKey; "
        "print(ApiKey.objects.filter(tenant__slug='acme').count())"
    )
    assert count == "1", f"reloading {created_url} created another key"

    # Lists fit a laptop's width; a key's own page has nothing to save.
    page.goto(production_server.url + "/admin/tenants/apikey/")
    assert _fits(page, "#changelist-form .results")
    shots.take(page, "api-keys")
    page.click("#result_list tbody a >> nth=0")
    assert page.locator("input[name=_save]").count() == 0
    shots.take(page, "api-key-page")

    # And the key works against the tenant's endpoint.
    caller = _whoami(production_server.url + "/mcp/acme", raw)
    assert caller["tenant"] == "acme" and sorted(caller["scopes"]) == [
        "workspace:read",
        "workspace:write",
    ]
