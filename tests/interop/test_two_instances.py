"""Two server processes sharing only the database and Redis behave as one server.

A legacy session started on instance A continues on B; a sampling request sent on A's stream
is answered by a POST to B (relayed over the Channels layer); a modern requestState issued by
A is honoured by B; a tool-list change made on B reaches a listen stream held open on A.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx2
import pytest

from tests.interop.instances import Cluster
from tests.interop.streams import initialize_body

# Servers on a database of their own: the result does not depend on the suite's database,
# so the PostgreSQL pass skips them (make test runs them once).
pytestmark = pytest.mark.own_database


MODERN = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
}


@pytest.fixture(scope="module")  # the tests leave the pair as they found it: one pair for all
def two_instances(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[str], str]]:
    tmp_path = tmp_path_factory.mktemp("two")
    cluster = Cluster(redis_url=redis_url, tmp_path=tmp_path, keys=secrets.token_hex(32))
    key = cluster.setup_tenant()
    try:
        cluster.start_all()
        yield cluster.urls, key
    finally:
        cluster.stop_all()


def _headers(key: str, **extra: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        **extra,
    }


async def _events(lines: AsyncIterator[str], count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    async for line in lines:
        if line.startswith("data: ") and line[6:].strip():
            found.append(json.loads(line[6:]))
            if len(found) == count:
                break
    return found


def test_a_legacy_session_and_its_sampling_answer_cross_instances(
    two_instances: tuple[list[str], str],
) -> None:
    (a, b), key = two_instances

    async def main() -> dict[str, Any]:
        async with httpx2.AsyncClient(timeout=10) as http:
            body = initialize_body({"sampling": {}})
            started = await http.post(a, json=body, headers=_headers(key))
            session = started.headers["mcp-session-id"]
            legacy = _headers(
                key, **{"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
            )
            done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
            assert (await http.post(b, json=done, headers=legacy)).status_code == 202
            call = {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "test_sampling", "arguments": {"prompt": "Capital?"}},
            }
            async with http.stream("POST", a, json=call, headers=legacy) as stream:
                lines = stream.aiter_lines()
                asked = (await _events(lines, 1))[0]
                assert asked["method"] == "sampling/createMessage"
                answer = {
                    "jsonrpc": "2.0",
                    "id": asked["id"],
                    "result": {
                        "role": "assistant",
                        "content": {"type": "text", "text": "Paris"},
                        "model": "m",
                    },
                }
                assert (await http.post(b, json=answer, headers=legacy)).status_code == 202
                return (await _events(lines, 1))[0]

    final = anyio.run(main)
    assert final["result"]["content"][0]["text"] == "LLM response: Paris"


def test_request_state_from_one_instance_is_honoured_by_the_other(
    two_instances: tuple[list[str], str],
) -> None:
    (a, b), key = two_instances
    name = "test_input_required_result_request_state"
    headers = _headers(
        key, **{"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": name}
    )
    first = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "_meta": META},
    }
    with httpx2.Client(timeout=10) as http:
        state = http.post(a, json=first, headers=headers).json()["result"]["requestState"]
        retry = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {
                "name": name,
                "_meta": META,
                "requestState": state,
                "inputResponses": {"confirm": {"action": "accept", "content": {"ok": True}}},
            },
        }
        result = http.post(b, json=retry, headers=headers).json()["result"]
    assert "state-ok" in result["content"][0]["text"]


def test_a_change_on_one_instance_reaches_a_listener_on_the_other(
    two_instances: tuple[list[str], str],
) -> None:
    (a, b), key = two_instances

    async def main() -> list[dict[str, Any]]:
        async with httpx2.AsyncClient(timeout=10) as http:
            listen = {
                "jsonrpc": "2.0",
                "id": "s",
                "method": "subscriptions/listen",
                "params": {"_meta": META, "notifications": {"toolsListChanged": True}},
            }
            headers = _headers(
                key, **{"MCP-Protocol-Version": MODERN, "Mcp-Method": "subscriptions/listen"}
            )
            async with http.stream("POST", a, json=listen, headers=headers) as stream:
                lines = stream.aiter_lines()
                ack = await _events(lines, 1)
                trigger = {
                    "jsonrpc": "2.0",
                    "id": 3,
                    "method": "tools/call",
                    "params": {"name": "test_trigger_tool_change", "_meta": META},
                }
                call_headers = _headers(
                    key,
                    **{
                        "MCP-Protocol-Version": MODERN,
                        "Mcp-Method": "tools/call",
                        "Mcp-Name": "test_trigger_tool_change",
                    },
                )
                assert (await http.post(b, json=trigger, headers=call_headers)).status_code == 200
                return ack + await _events(lines, 1)

    ack, change = anyio.run(main)
    assert ack["method"] == "notifications/subscriptions/acknowledged"
    assert change["method"] == "notifications/tools/list_changed"
