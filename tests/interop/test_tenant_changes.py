"""Tenant changes take effect at once on every instance: a slug probed before its tenant
existed, and a tenant suspended then reactivated, are served by another process within a
second (not after the few seconds an unknown slug is remembered)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator

import httpx2
import pytest

from tests.interop.instances import Cluster

pytestmark = pytest.mark.own_database

MODERN = "2026-07-28"


@pytest.fixture(scope="module")  # each test changes a tenant of its own, or restores it
def cluster(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Cluster, str]]:
    tmp_path = tmp_path_factory.mktemp("changes")
    cluster = Cluster(redis_url=redis_url, tmp_path=tmp_path, keys=secrets.token_hex(32))
    key = cluster.setup_tenant()
    try:
        cluster.start_all()
        yield cluster, key
    finally:
        cluster.stop_all()


def _discover(url: str, key: str) -> int:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "server/discover",
        "params": {
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": {},
            }
        },
    }
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "server/discover",
    }
    return httpx2.post(url, content=json.dumps(body), headers=headers, timeout=5).status_code


def _seconds_until_served(url: str, key: str, *, limit: float = 5.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if _discover(url, key) == 200:
            return time.monotonic() - started
        time.sleep(0.02)
    pytest.fail(f"{url} still refused after {limit} s")


def test_a_tenant_created_after_its_slug_was_probed_is_served_within_a_second(cluster) -> None:
    cluster, _key = cluster
    late = cluster.urls[1].replace("/mcp/pair", "/mcp/late")
    assert _discover(late, "mcpk_" + "x" * 43) == 404  # remembered as unknown on instance 1
    cluster.manage("create_tenant", "late", "--name", "Late")
    key = cluster.manage("create_api_key", "late", "--name", "late").strip().splitlines()[-1]
    assert _seconds_until_served(late, key) < 1.0


def test_a_reactivated_tenant_is_served_by_another_instance_within_a_second(cluster) -> None:
    cluster, key = cluster
    other = cluster.urls[1]
    assert _discover(other, key) == 200
    change = (
        "from tenants import services; from tenants.audit import Actor; "
        "from tenants.models import Tenant; "
        "services.tenant_{}(tenant=Tenant.objects.get(slug='pair'), actor=Actor.system('test'))"
    )
    cluster.manage("shell", "-c", change.format("suspend"))
    deadline = time.monotonic() + 5.0
    while _discover(other, key) != 404:  # suspension applies within the ledger's interval
        assert time.monotonic() < deadline, "the suspended tenant is still served"
        time.sleep(0.02)
    cluster.manage("shell", "-c", change.format("reactivate"))
    assert _seconds_until_served(other, key) < 1.0
