"""A change made through one server process reaches the subscribers held by another.

Two real processes share only the database and Redis; the announcement crosses on the
Channels layer. Both eras: a 2026-07-28 ``subscriptions/listen`` stream and a 2025-11-25
session's GET stream after ``resources/subscribe``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from tests.interop.instances import Cluster
from tests.interop.streams import META, MODERN, events, headers, legacy_session, listen_headers

pytestmark = pytest.mark.own_database

SCOPES = "workspace:read,workspace:write"


@pytest.fixture
def pair(redis_url: str, tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    cluster = Cluster(redis_url=redis_url, tmp_path=tmp_path, keys=secrets.token_hex(32))
    cluster.migrate()
    made = cluster.manage_all(
        ("create_tenant", "pair", "--name", "Pair", "--toolsets", "builtin,workspace"),
        ("create_api_key", "pair", "--name", "pair", "--scopes", SCOPES),
    )[1]
    try:
        cluster.start_all()
        yield cluster.urls, made.strip().splitlines()[-1]
    finally:
        cluster.stop_all()


async def _call(
    http: httpx2.AsyncClient, url: str, key: str, name: str, args: dict[str, Any]
) -> Any:
    body = {
        "jsonrpc": "2.0",
        "id": "c",
        "method": "tools/call",
        "params": {"name": name, "arguments": args, "_meta": META},
    }
    extra = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": name}
    answer = await http.post(url, json=body, headers=headers(key, **extra))
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert not result.get("isError"), result
    return result["structuredContent"]


def test_resource_updates_cross_instances_in_both_eras(pair: tuple[list[str], str]) -> None:
    (a, b), key = pair

    async def main() -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
        async with httpx2.AsyncClient(timeout=15) as http:
            watched = await _call(http, a, key, "create_requirement", {"title": "Watched"})
            other = await _call(http, a, key, "create_requirement", {"title": "Other"})
            listen = {
                "jsonrpc": "2.0",
                "id": "s",
                "method": "subscriptions/listen",
                "params": {
                    "_meta": META,
                    "notifications": {"resourceSubscriptions": [watched["uri"]]},
                },
            }
            session = await legacy_session(http, b, key, {})
            subscribe = {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "resources/subscribe",
                "params": {"uri": watched["uri"]},
            }
            assert (await http.post(b, json=subscribe, headers=session)).status_code == 200
            with anyio.fail_after(20):
                async with (
                    http.stream("POST", b, json=listen, headers=listen_headers(key)) as modern,
                    http.stream("GET", b, headers=session) as legacy,
                ):
                    modern_lines, legacy_lines = modern.aiter_lines(), legacy.aiter_lines()
                    (ack,) = await events(modern_lines, 1)
                    assert ack["method"] == "notifications/subscriptions/acknowledged"
                    await anyio.sleep(0.5)  # the GET stream has joined the group by now
                    await _call(http, a, key, "update_requirement",
                                {"requirement_id": other["id"], "priority": "low"})  # fmt: skip
                    await _call(http, a, key, "update_requirement",
                                {"requirement_id": watched["id"], "status": "open"})  # fmt: skip
                    heard = await events(modern_lines, 1), await events(legacy_lines, 1)
                    return watched["uri"], *heard

    uri, (modern_event,), (legacy_event,) = anyio.run(main)
    for event in (modern_event, legacy_event):  # the first each hears: not the other change
        assert event["method"] == "notifications/resources/updated"
        assert event["params"]["uri"] == uri
    assert "io.modelcontextprotocol/subscriptionId" in json.dumps(modern_event)
