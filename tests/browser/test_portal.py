"""An operator and an end user, in Chromium, against two real server processes behind one
public URL and a real OpenID provider on loopback.

The operator signs in to admin through the staff provider and sets up the tenant's portal
sign-in. The end user signs in at the tenant's provider (the sign-in starts on one process,
the callback lands on the other), copies a client configuration, creates a key and uses it
with the MCP SDK client, revokes it, then signs out everywhere and sees the next key refused
by the other process within a second. Every page is kept as a screenshot.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from tests.browser.portal_harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    oidc_provider,
    screenshot,
    wait_until,
)
from tests.interop.instances import Cluster

pytestmark = [pytest.mark.own_database]

PORTAL_SECRET = secrets.token_urlsafe(24)
STAFF_SECRET = secrets.token_urlsafe(24)


@dataclass
class Site:
    front: str  # the process a browser reaches first
    public: str  # MCP_PUBLIC_URL: the other process, where callbacks land
    issuer: str
    cluster: Cluster


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.fail("TEST_REDIS_URL is not set: run the suite with `make test`.")
    cluster = Cluster(
        redis_url=redis_url, tmp_path=tmp_path_factory.mktemp("portal"), keys=secrets.token_hex(32)
    )
    front, public = (f"http://127.0.0.1:{port}" for port in cluster.ports)
    callback = f"{public}/oidc/callback/"
    clients = [
        {"client_id": "acme-portal", "client_secret": PORTAL_SECRET, "redirect_uris": [callback]},
        {"client_id": "mcp-staff", "client_secret": STAFF_SECRET, "redirect_uris": [callback]},
    ]
    accounts = {
        "opal": {"email": "opal@operator.test", "name": "Opal Operator", "groups": ["mcp-staff"]},
        "mallory": {"email": "mallory@elsewhere.test", "name": "Mallory", "groups": []},
        "alice": {"email": "alice@acme.test", "name": "Alice Admin", "groups": ["acme-admins"]},
    }
    with oidc_provider(clients=clients, accounts=accounts) as issuer:
        cluster.env.update(
            {
                "MCP_PUBLIC_URL": public,
                "MCP_STAFF_OIDC_ISSUER": issuer,
                "MCP_STAFF_OIDC_CLIENT_ID": "mcp-staff",
                "MCP_STAFF_OIDC_CLIENT_SECRET": STAFF_SECRET,
                "MCP_STAFF_OIDC_ALLOW_PRIVATE": "1",
                "MCP_STAFF_OIDC_SCOPES": "openid email profile groups",
                "MCP_STAFF_OIDC_CLAIM": "groups",
                "MCP_STAFF_OIDC_CLAIM_VALUE": "mcp-staff",
            }
        )
        cluster.migrate()
        cluster.manage("create_tenant", "acme", "--name", "Acme Corp", "--toolsets", "builtin")
        try:
            cluster.start_all()
            yield Site(front=front, public=public, issuer=issuer, cluster=cluster)
        finally:
            cluster.stop_all()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def sign_in_at_provider(page: Any, login: str, shot: str) -> None:
    """oidc-provider's own login form (it takes any password)."""
    page.wait_for_selector("input[name=login]", timeout=15_000)
    screenshot(page, shot)
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")


def arrive(page: Any, url: str) -> None:
    """Wait for ``url``; on failure keep the page where the browser ended up."""
    try:
        page.wait_for_url(url, timeout=15_000)
    except PlaywrightTimeout:
        screenshot(page, "failure")
        raise AssertionError(f"expected {url}, the browser is at {page.url}") from None


def mcp_call(url: str, key: str) -> Any:
    async def main() -> Any:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx2.AsyncClient(headers=headers, timeout=10) as http:
            transport = streamable_http_client(url, http_client=http)
            async with Client(transport, mode="legacy") as client:
                return await client.call_tool("whoami", {})

    # Playwright's sync API holds this thread's event loop: the client runs in another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, main).result(timeout=30)


def mcp_status(url: str, key: str) -> int:
    body = {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "probe", "version": "1"}},
    }  # fmt: skip
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream"}
    return httpx2.post(url, json=body, headers=headers, timeout=5).status_code


def test_operator_signs_in_with_sso_and_sets_up_portal_sign_in(site: Site, chromium: Any) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{site.front}/admin/")
    screenshot(page, "admin-01-login")
    assert page.locator("#sso-sign-in").is_visible()
    assert page.locator("input[name=password]").count() == 0  # no password sign-in
    page.click("#sso-sign-in")
    sign_in_at_provider(page, "opal", "admin-02-provider-login")
    arrive(page, f"{site.public}/admin/")
    screenshot(page, "admin-03-dashboard")
    assert "Dashboard" in page.content()

    page.goto(f"{site.public}/admin/tenants/portalsignin/add/")
    page.select_option("select[name=tenant]", label="acme")
    page.fill("input[name=issuer]", site.issuer)
    page.fill("input[name=client_id]", "acme-portal")
    page.fill("input[name=client_secret]", PORTAL_SECRET)
    page.fill("input[name=scopes]", "openid email profile groups")
    page.fill("input[name=admin_claim]", "groups")
    page.fill("input[name=admin_value]", "acme-admins")
    page.check("input[name=allow_private_network]")
    screenshot(page, "admin-04-portal-sign-in-form")
    page.click("input[name=_save]")
    arrive(page, f"{site.public}/admin/tenants/portalsignin/")
    screenshot(page, "admin-05-portal-sign-in-saved")
    assert f"{site.public}/portal/acme/" in page.content()
    context.close()


def test_someone_the_staff_claim_does_not_name_is_refused(site: Site, chromium: Any) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{site.front}/admin/")
    page.click("#sso-sign-in")
    sign_in_at_provider(page, "mallory", "admin-06-provider-login-mallory")
    page.wait_for_selector("#sign-in-message", timeout=15_000)
    screenshot(page, "admin-07-refused")
    assert page.goto(f"{site.public}/admin/").url.startswith(f"{site.public}/admin/login/")
    context.close()


def test_end_user_portal_keys_and_sign_out_everywhere(site: Site, chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.public)
    page = context.new_page()
    page.goto(f"{site.front}/portal/acme/")
    screenshot(page, "portal-01-sign-in")
    csp = page.context.request.get(f"{site.front}/portal/acme/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page.click("#sign-in")
    sign_in_at_provider(page, "alice", "portal-02-provider-login")
    # The callback is answered by the other process, from the state this one stored.
    arrive(page, f"{site.public}/portal/acme/")
    screenshot(page, "portal-03-home")
    endpoint = f"{site.public}/mcp/acme"
    assert page.inner_text("#endpoint") == endpoint
    assert page.locator("a", has_text="Members").is_visible()  # admin through the claim

    page.click("button[data-copy=config-claude-code]")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == (
        f"claude mcp add --transport http acme {endpoint} "
        "--header 'Authorization: Bearer YOUR_API_KEY'"
    )

    key = create_key(page, "laptop", "portal-04-key-created")
    front_mcp = f"{site.front}/mcp/acme"
    result = mcp_call(front_mcp, key)
    assert result.structured_content["tenant"] == "acme"

    page.goto(f"{site.public}/portal/acme/")
    page.click("button[data-revoke]")
    page.wait_for_selector(".messages li")
    screenshot(page, "portal-05-key-revoked")
    wait_until(lambda: mcp_status(front_mcp, key) == 401, timeout=1.0)

    second = create_key(page, "desktop", "portal-06-second-key")
    assert mcp_status(front_mcp, second) == 200
    for name, path in [("members", "admin/members/"), ("keys", "admin/keys/"),
                       ("audit", "admin/audit/")]:  # fmt: skip
        page.goto(f"{site.public}/portal/acme/{path}")
        screenshot(page, f"portal-07-{name}")
    assert "portal.sign_in" in page.content()

    page.goto(f"{site.public}/portal/acme/")
    page.click("#sign-out-everywhere")
    # Signed out on the public process; the front one refuses the key within a second.
    took = wait_until(lambda: mcp_status(front_mcp, second) == 401, timeout=1.0)
    screenshot(page, "portal-08-signed-out-everywhere")
    assert page.locator("#sign-in").is_visible()
    print(f"sign out everywhere in force on the other process after {took:.3f} s")

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    small = phone.new_page()
    small.goto(f"{site.front}/portal/acme/")
    screenshot(small, "portal-09-phone-sign-in")
    phone.close()
    context.close()


def create_key(page: Any, name: str, shot: str) -> str:
    page.fill("input[name=name]", name)
    page.fill("input[name=expires_in_days]", "30")
    page.click("#create-key")
    page.wait_for_selector("#raw-api-key", timeout=15_000)
    screenshot(page, shot)
    page.click("button[data-copy=raw-api-key]")
    raw = str(page.evaluate("navigator.clipboard.readText()"))
    assert raw == page.inner_text("#raw-api-key") and raw.startswith("mcpk_")
    page.reload()
    assert page.locator("#key-already-shown").is_visible()  # shown once
    return raw
