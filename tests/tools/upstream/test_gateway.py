"""The official SDK client, downstream, lists and calls a tenant's upstream tools in both
eras, against upstreams speaking either era; the upstreams get the tenant's secret and
nothing the client sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.client.client import Client

from tests.tools.upstream.conftest import API_SECRET, CLIENT_MARKER, SECRET, Gateway

ERAS = ["legacy", "2026-07-28"]


def _text(result: Any) -> str:
    return result.content[0].text


@pytest.mark.parametrize("mode", ERAS)
def test_upstream_tools_are_listed_and_called_in_both_eras(gateway: Gateway, mode: str) -> None:
    async def body(client: Client) -> dict[str, Any]:
        tools = await client.list_tools()
        return {
            "names": [tool.name for tool in tools.tools],
            "echo": await client.call_tool("crm.echo", {"text": "hi"}),
            "old_add": await client.call_tool("old.add", {"a": 2, "b": 3}),
            "order": await client.call_tool("get_order", {"id": "A/1", "expand": "lines"}),
            "local": await client.call_tool("whoami", {}),
        }

    seen = gateway.run(mode, body)
    names = seen["names"]
    assert names[0] == "whoami"  # the static catalogue first
    assert "get_order" in names
    assert {"crm.echo", "crm.add", "crm.greet", "old.echo", "old.add"} <= set(names)
    assert _text(seen["echo"]) == "echo: hi"
    assert seen["old_add"].structured_content == {"sum": 5}
    order = seen["order"].structured_content
    assert order["id"] == "A/1" and order["total"] == 42
    assert "expand=lines" in order["query"] and "format=json" in order["query"]
    assert seen["local"].structured_content["tenant"] == "gw"


def test_the_upstreams_get_the_tenant_secret_and_nothing_the_client_sent(
    gateway: Gateway,
) -> None:
    async def body(client: Client) -> None:
        await client.list_tools()
        await client.call_tool("crm.echo", {"text": "x"})
        await client.call_tool("old.echo", {"text": "x"})
        await client.call_tool("get_order", {"id": "7"})

    gateway.run("2026-07-28", body)
    for recorder, secret in (
        (gateway.mcp.recorder, SECRET),
        (gateway.legacy.recorder, SECRET),
        (gateway.api.recorder, API_SECRET),
    ):
        assert recorder.requests, "the upstream was called"
        assert all(h.get("authorization") == f"Bearer {secret}" for h in recorder.requests)
        seen = recorder.all_text()
        assert gateway.key not in seen
        assert CLIENT_MARKER not in seen
        assert "x-client-marker" not in seen


@pytest.mark.parametrize("mode", ERAS)
def test_upstream_failures_are_error_results_and_other_tools_keep_working(
    gateway: Gateway, mode: str
) -> None:
    async def body(client: Client) -> list[Any]:
        return [
            await client.call_tool("crm.fail", {}),
            await client.call_tool("crm.echo", {"text": "still here"}),
        ]

    failed, fine = gateway.run(mode, body)
    assert failed.is_error is True
    assert "failed on purpose" in _text(failed)
    assert _text(fine) == "echo: still here"


@pytest.mark.parametrize("mode", ERAS)
def test_upstream_resources_and_prompts_under_the_prefix(gateway: Gateway, mode: str) -> None:
    async def body(client: Client) -> dict[str, Any]:
        return {
            "resources": await client.list_resources(),
            "read": await client.read_resource("stub://readme"),
            "prompts": await client.list_prompts(),
            "prompt": await client.get_prompt("old.summarize", {"topic": "tea"}),
        }

    seen = gateway.run(mode, body)
    assert [r.name for r in seen["resources"].resources] == ["crm.readme"]
    assert seen["read"].contents[0].text == "Read me: this is the stub."
    assert {"crm.summarize", "old.summarize"} <= {p.name for p in seen["prompts"].prompts}
    assert "Summarize tea" in json.dumps(seen["prompt"].model_dump(mode="json"))
