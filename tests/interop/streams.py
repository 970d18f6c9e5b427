"""Small helpers for tests that hold MCP streams open against real server processes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
}


def initialize_body(capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
    """A 2025-11-25 ``initialize`` request."""
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": LEGACY,
            "capabilities": capabilities or {},
            "clientInfo": {"name": "pytest", "version": "1"},
        },
    }


LISTEN = {
    "jsonrpc": "2.0",
    "id": "s",
    "method": "subscriptions/listen",
    "params": {"_meta": META, "notifications": {"toolsListChanged": True}},
}


def headers(key: str, **extra: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        **extra,
    }


def listen_headers(key: str) -> dict[str, str]:
    return headers(key, **{"MCP-Protocol-Version": MODERN, "Mcp-Method": "subscriptions/listen"})


async def events(lines: AsyncIterator[str], count: int) -> list[dict[str, Any]]:
    """The next ``count`` JSON messages of an SSE stream (comments and priming skipped)."""
    found: list[dict[str, Any]] = []
    async for line in lines:
        if line.startswith("data: ") and line[6:].strip():
            found.append(json.loads(line[6:]))
            if len(found) == count:
                break
    return found


async def trigger_tool_change(http: httpx2.AsyncClient, url: str, key: str) -> None:
    name = "test_trigger_tool_change"
    call = {
        "jsonrpc": "2.0",
        "id": "t",
        "method": "tools/call",
        "params": {"name": name, "_meta": META},
    }
    extra = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": name}
    answer = await http.post(url, json=call, headers=headers(key, **extra))
    assert answer.status_code == 200


async def legacy_session(
    http: httpx2.AsyncClient, url: str, key: str, capabilities: dict[str, Any]
) -> dict[str, str]:
    """Initialize a 2025-11-25 session; the headers every later request of it carries."""
    started = await http.post(url, json=initialize_body(capabilities), headers=headers(key))
    session = headers(
        key,
        **{"Mcp-Session-Id": started.headers["mcp-session-id"], "MCP-Protocol-Version": LEGACY},
    )
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert (await http.post(url, json=done, headers=session)).status_code == 202
    return session
