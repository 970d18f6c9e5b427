"""N answered tool calls give exactly N audit records, whatever breaks on the way: a server
process (and its drainer) killed mid-run, Redis restarted, the database away while Redis is
up. Real server processes, a real Redis with its append-only file, a real PostgreSQL."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis

from tests.fleet.services import PostgresServer
from tests.interop.faults import MODERN, headers, wait_until
from tests.interop.instances import Cluster, Console
from tests.sessions_store.conftest import RedisServer

pytestmark = pytest.mark.own_database

STREAM = b"j:tool-calls"


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[RedisServer]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory, persistent=True)
    server.start()
    yield server
    server.stop()


def _cluster(tmp_path: Path, redis_url: str, **env: str) -> Cluster:
    cluster = Cluster(redis_url=redis_url, tmp_path=tmp_path, keys=secrets.token_hex(32))
    overrides = {"MCP_SERVER": {"AUDIT_CLAIM_IDLE": 1.0, "STORE_BREAKER_COOLDOWN": 0.2}}
    cluster.env.update(
        DJANGO_SETTINGS_MODULE="tests.interop.instance_settings",
        MCP_TEST_OVERRIDES=json.dumps(overrides),
        **env,
    )
    return cluster


def tool_call(http: httpx2.Client, url: str, key: str, n: int) -> bool:
    """One tools/call; True when it was answered with a result."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "durability-test", "version": "1"},
    }
    body = {
        "jsonrpc": "2.0",
        "id": n,
        "method": "tools/call",
        "params": {"name": "whoami", "_meta": meta},
    }
    extra = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "whoami"}
    try:
        response = http.post(url, json=body, headers=headers(key, **extra))
    except httpx2.HTTPError:
        return False
    return response.status_code == 200 and "result" in response.json()


def recorded(console: Console) -> int:
    counts: dict[str, Any] = json.loads(console.run("tool_usage", "pair", "--json"))
    return int(counts.get("whoami", {}).get("calls", 0))


def settled(cluster: Cluster, answered: int, redis_url: str) -> None:
    """Exactly ``answered`` records, still so after another claim interval, nothing pending,
    and the tenant's chain intact."""
    with cluster.console() as console:
        wait_until(lambda: recorded(console) >= answered, timeout=60, what="records written")
        client = redis.Redis.from_url(redis_url)
        wait_until(lambda: client.xlen(STREAM) == 0, timeout=30, what="stream drained")
        assert recorded(console) == answered
        assert console.run("verify_audit", "pair").startswith("Audit chain of pair intact")


def test_a_killed_server_and_drainer_lose_and_double_nothing(
    tmp_path: Path, durable_redis: RedisServer
) -> None:
    cluster = _cluster(tmp_path, durable_redis.url)
    key = cluster.setup_tenant()
    cluster.start_all()
    answered = 0
    try:
        with httpx2.Client(timeout=30) as http:
            for n in range(40):
                answered += tool_call(http, cluster.urls[n % 2], key, n)
            # A burst at instance 0, killed right after: its drainer may hold some unacknowledged.
            for n in range(40, 70):
                answered += tool_call(http, cluster.urls[0], key, n)
            cluster.kill(0)
            for n in range(70, 100):
                answered += tool_call(http, cluster.urls[1], key, n)
            cluster.start(0)
            for n in range(100, 140):
                answered += tool_call(http, cluster.urls[n % 2], key, n)
        assert answered == 140
        settled(cluster, answered, durable_redis.url)
    finally:
        cluster.stop_all()


def test_a_redis_restart_loses_and_doubles_nothing(
    tmp_path: Path, durable_redis: RedisServer
) -> None:
    cluster = _cluster(tmp_path, durable_redis.url)
    key = cluster.setup_tenant()
    cluster.start_all()
    answered = 0
    try:
        with httpx2.Client(timeout=30) as http:
            for n in range(50):
                answered += tool_call(http, cluster.urls[n % 2], key, n)
            durable_redis.kill()  # SIGKILL: only the append-only file survives
            for n in range(50, 80):  # answered without Redis: the in-process queue takes these
                answered += tool_call(http, cluster.urls[n % 2], key, n)
            durable_redis.start()
            for n in range(80, 130):
                answered += tool_call(http, cluster.urls[n % 2], key, n)
        assert answered == 130
        settled(cluster, answered, durable_redis.url)
    finally:
        cluster.stop_all()


def test_records_wait_in_redis_while_the_database_is_away(
    tmp_path: Path, durable_redis: RedisServer, postgres: PostgresServer
) -> None:
    cluster = _cluster(tmp_path, durable_redis.url, DATABASE_URL=postgres.url)
    key = cluster.setup_tenant()
    cluster.start_all()
    answered = 0
    try:
        with httpx2.Client(timeout=30) as http:
            for n in range(20):  # every instance validates the key while the database is up
                answered += tool_call(http, cluster.urls[n % 2], key, n)
            with cluster.console() as console:
                wait_until(lambda: recorded(console) == answered, timeout=30, what="first records")
            postgres.stop(mode="fast")
            during = sum(tool_call(http, cluster.urls[n % 2], key, n) for n in range(20, 60))
            assert during == 40  # answered from the caches, recorded in the stream
            client = redis.Redis.from_url(durable_redis.url)
            assert client.xlen(STREAM) == 40
            answered += during
            postgres.start()
        settled(cluster, answered, durable_redis.url)
    finally:
        cluster.stop_all()
