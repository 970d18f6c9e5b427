"""A 2025-11-25 session through nginx, and the SSE events of its streams, read line by line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2

from tests.fleet.client import LEGACY, headers
from tests.interop.streams import initialize_body


@dataclass
class Event:
    id: str
    data: dict[str, Any]


def sse_events(lines: Iterator[str]) -> Iterator[Event]:
    """Events with data (the priming event, which has none, is skipped)."""
    event_id, data = "", ""
    for line in lines:
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            data += line[6:]
        elif line == "":
            if data.strip():
                yield Event(event_id, json.loads(data))
            event_id, data = "", ""


def open_session(http: httpx2.Client, url: str, key: str, **capabilities: Any) -> dict[str, str]:
    """Initialize; the headers every later request of the session carries."""
    started = http.post(url, json=initialize_body(capabilities), headers=headers(key))
    assert started.status_code == 200, started.text
    session = headers(
        key, **{"Mcp-Session-Id": started.headers["mcp-session-id"], "MCP-Protocol-Version": LEGACY}
    )
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert http.post(url, json=done, headers=session).status_code == 202
    return session
