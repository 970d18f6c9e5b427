"""Upstream tools are audited like local ones, enabled and disabled like local ones, and
follow the upstream's list changes."""

from __future__ import annotations

import io
import time
from typing import Any

import anyio
import pytest
from django.core.management import call_command
from mcp.client.client import Client

from tenants.models import AuditLog
from tests.tools.upstream.conftest import Gateway


def _names(gateway: Gateway, mode: str = "2026-07-28") -> list[str]:
    async def body(client: Client) -> list[str]:
        return [tool.name for tool in (await client.list_tools()).tools]

    return gateway.run(mode, body)


def test_every_upstream_call_is_audited_with_the_upstream_and_its_latency(
    gateway: Gateway,
) -> None:
    async def body(client: Client) -> None:
        await client.call_tool("crm.echo", {"text": "x"})
        await client.call_tool("old.fail", {})
        await client.call_tool("get_order", {"id": "5"})
        await client.call_tool("whoami", {})

    gateway.run("2026-07-28", body)
    rows = {row.target: row for row in AuditLog.objects.filter(action="tool.call")}
    echo, failed, order, local = (rows[n] for n in ("crm.echo", "old.fail", "get_order", "whoami"))
    assert echo.details["upstream"] == "crm" and echo.details["result"] == "ok"
    assert 0 < echo.details["upstream_ms"] <= echo.details["duration_ms"]
    assert failed.details["upstream"] == "old" and failed.details["result"] == "is_error"
    assert failed.outcome == AuditLog.Outcome.FAILURE
    assert order.details["upstream"] == "http:get_order" and order.details["upstream_ms"] > 0
    assert "upstream" not in local.details
    out = io.StringIO()
    call_command("verify_audit", "gw", stdout=out)  # the chain holds them like any row
    assert "intact" in out.getvalue()


def test_an_unreachable_upstream_call_is_audited_with_its_error(gateway: Gateway) -> None:
    from tests.tools.upstream.stubs import StubMcp

    stub = StubMcp().start()
    call_command(
        "add_upstream", "gw", "gone", "--url", stub.url, "--allow-private", stdout=io.StringIO()
    )
    assert "gone.echo" in _names(gateway)
    stub.stop()

    async def body(client: Client) -> Any:
        return await client.call_tool("gone.echo", {"text": "x"})

    assert gateway.run("legacy", body).is_error is True
    row = AuditLog.objects.get(action="tool.call", target="gone.echo")
    assert row.details["upstream_error"] == "could not be reached"


def test_upstream_and_http_tools_are_disabled_and_enabled_like_local_ones(
    gateway: Gateway,
) -> None:
    out = io.StringIO()
    call_command("set_tenant_tools", "gw", "--disable-tools", "crm.echo,get_order", stdout=out)
    names = _names(gateway)
    assert "crm.echo" not in names and "get_order" not in names
    assert "crm.add" in names and "old.echo" in names

    async def body(client: Client) -> Any:
        try:
            await client.call_tool("crm.echo", {"text": "x"})
        except Exception as exc:  # noqa: BLE001 (the JSON-RPC error, raised by the SDK)
            return exc
        return None

    assert "Unknown tool: crm.echo" in str(gateway.run("legacy", body))
    call_command("set_tenant_tools", "gw", "--enable-tools", "crm.echo", stdout=out)
    assert "crm.echo" in _names(gateway)


def test_disabling_the_upstream_removes_its_tools(gateway: Gateway) -> None:
    from tenants import services
    from tenants.audit import Actor
    from tenants.models import Upstream

    upstream = Upstream.objects.get(tenant=gateway.tenant, name="crm")
    assert "crm.echo" in _names(gateway)
    services.upstream_update(upstream=upstream, changes={"enabled": False}, actor=Actor("test"))
    time.sleep(0.6)  # the revocation ledger's interval: every instance re-reads the tenant
    names = _names(gateway)
    assert not any(name.startswith("crm.") for name in names)
    assert "old.echo" in names


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_a_list_change_the_upstream_announces_is_followed(gateway: Gateway, mode: str) -> None:
    # A 2025-11-25 upstream announces the change on its session: the gateway drops the
    # listing on every instance, and the next tools/list (either era) shows the new tool,
    # long before the listing's interval would have run out.
    from tests.tools.upstream.stubs import StubMcp

    stub = StubMcp(legacy_only=True).start()
    try:
        call_command(
            "add_upstream", "gw", "fresh", "--url", stub.url, "--allow-private",
            stdout=io.StringIO(),
        )  # fmt: skip
        assert "fresh.grow" in _names(gateway, mode) and "fresh.grown" not in _names(gateway, mode)

        async def body(client: Client) -> Any:
            await client.call_tool("fresh.grow", {})
            await anyio.sleep(0.2)
            return [tool.name for tool in (await client.list_tools()).tools]

        assert "fresh.grown" in gateway.run(mode, body)
    finally:
        stub.stop()
