"""Requests and waits shared by the tests that break Redis under running server processes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis

from tests.interop.streams import initialize_body
from tests.sessions_store.conftest import RedisServer

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
}


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private Redis this test may freeze, kill and restart from its snapshot."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory)
    server.start()
    yield server
    server.stop()


def headers(key: str, **extra: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        **extra,
    }


def modern_call(http: httpx2.Client, url: str, key: str) -> httpx2.Response:
    """A stateless request (server/discover): authentication and nothing else of the store."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": META}}
    extra = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "server/discover"}
    return http.post(url, json=body, headers=headers(key, **extra))


def legacy_session(http: httpx2.Client, url: str, key: str) -> str:
    started = http.post(url, json=initialize_body(), headers=headers(key))
    assert started.status_code == 200, started.text
    return str(started.headers["mcp-session-id"])


def legacy_ping(http: httpx2.Client, url: str, key: str, session: str) -> httpx2.Response:
    extra = {"Mcp-Session-Id": session, "MCP-Protocol-Version": LEGACY}
    body = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    return http.post(url, json=body, headers=headers(key, **extra))


def entries(server: RedisServer) -> int:
    """Store entries in Redis (sealed values under s:<digest>)."""
    return len(redis.Redis.from_url(server.url).keys(b"s:*"))


def wait_until(predicate: Any, *, timeout: float, what: str) -> float:
    """Polls ``predicate`` every 50 ms; returns the seconds it took, or fails the test."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - start
