"""A tenant served by a live server, with stub upstreams attached: an MCP server written with
the official SDK (one speaking both eras, one only 2025-11-25) and an HTTP API."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from django.core.management import call_command
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from tenants.models import Tenant
from tests.interop.conftest import asgi_server  # noqa: F401 (a fixture used here)
from tests.tools.upstream.stubs import StubApi, StubMcp

SECRET = "crm-secret-7f3a9b1c2d4e5f60a1b2"
API_SECRET = "api-secret-0c9d8e7f6a5b4c3d2e1f"
CLIENT_MARKER = "client-only-marker-6b1f"


@pytest.fixture(scope="module")
def stub_mcp() -> Iterator[StubMcp]:
    stub = StubMcp().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def stub_legacy() -> Iterator[StubMcp]:
    stub = StubMcp(legacy_only=True).start()
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def stub_api() -> Iterator[StubApi]:
    stub = StubApi().start()
    yield stub
    stub.stop()


def order_spec(api: StubApi, **overrides: Any) -> dict[str, Any]:
    spec = {
        "name": "get_order",
        "description": "Look up one order by id.",
        "input_schema": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "expand": {"type": "string"}},
            "required": ["id"],
        },
        "method": "GET",
        "url": f"{api.base}/orders/{{id}}",
        "query": {"expand": "{expand}", "format": "json"},
        "headers": {"Authorization": "Bearer {secret:API_TOKEN}"},
        "timeout": 5,
        "allow_private_network": True,
        "response": {"pointer": "/order"},
    }
    return {**spec, **overrides}


def set_secret(slug: str, name: str, value: str) -> str:
    """``set_tenant_secret`` as an operator runs it, the value on standard input."""
    out = io.StringIO()
    call_command("set_tenant_secret", slug, name, stdin=io.StringIO(value + "\n"), stdout=out)
    return out.getvalue()


@dataclass
class Gateway:
    url: str
    key: str
    tenant: Tenant
    mcp: StubMcp
    legacy: StubMcp
    api: StubApi
    headers: dict[str, str] = field(default_factory=dict)

    def run(self, mode: str, body: Callable[[Client], Any], **client: Any) -> Any:
        async def main() -> Any:
            headers = {"Authorization": f"Bearer {self.key}", "X-Client-Marker": CLIENT_MARKER}
            with anyio.fail_after(30):
                async with httpx2.AsyncClient(headers=headers, timeout=20) as http:
                    transport = streamable_http_client(self.url, http_client=http)
                    async with Client(transport, mode=mode, cache=None, **client) as connected:
                        return await body(connected)

        return anyio.run(main)


@pytest.fixture
def gateway(
    asgi_server: str,  # noqa: F811
    make_tenant: Callable[..., Tenant],
    make_api_key: Callable[..., Any],
    actor: Any,
    stub_mcp: StubMcp,
    stub_legacy: StubMcp,
    stub_api: StubApi,
    tmp_path: Path,
) -> Gateway:
    tenant = make_tenant("gw", toolsets=["builtin"])
    _key, raw = make_api_key(tenant)
    set_secret("gw", "CRM_TOKEN", SECRET)
    set_secret("gw", "API_TOKEN", API_SECRET)
    for name, stub in (("crm", stub_mcp), ("old", stub_legacy)):
        call_command(
            "add_upstream", "gw", name, "--url", stub.url, "--allow-private", "--timeout", "5",
            "--header", "Authorization=Bearer {secret:CRM_TOKEN}", stdout=io.StringIO(),
        )  # fmt: skip
    spec = tmp_path / "order.json"
    spec.write_text(json.dumps(order_spec(stub_api)))
    call_command("add_http_tool", "gw", "--spec", str(spec), stdout=io.StringIO())
    for stub in (stub_mcp, stub_legacy):
        stub.recorder.clear()
    stub_api.recorder.clear()
    return Gateway(
        url=f"{asgi_server}/mcp/gw",
        key=raw,
        tenant=tenant,
        mcp=stub_mcp,
        legacy=stub_legacy,
        api=stub_api,
    )
