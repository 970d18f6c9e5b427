"""The official Python SDK client (mcp 2.x) against a live tenant, in both protocol eras."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.interop.conftest import LiveTenant

ERAS = ["legacy", "2026-07-28"]


def _run(live: LiveTenant, mode: str, body: Any) -> Any:
    async def main() -> Any:
        headers = {"Authorization": f"Bearer {live.key}"}
        async with httpx2.AsyncClient(headers=headers, timeout=10) as http:
            transport = streamable_http_client(live.url, http_client=http)
            async with Client(transport, mode=mode, **body.get("client", {})) as client:
                return await body["run"](client)

    return anyio.run(main)


@pytest.mark.parametrize("mode", ERAS)
def test_lists_and_calls_tools(live_tenant: LiveTenant, mode: str) -> None:
    async def run(client: Client) -> Any:
        tools = await client.list_tools()
        result = await client.call_tool("whoami", {})
        return tools, result

    tools, result = _run(live_tenant, mode, {"run": run})
    names = [tool.name for tool in tools.tools]
    assert names[0] == "whoami"
    assert "test_simple_text" in names
    assert result.structured_content["tenant"] == "interop"
    assert json.loads(result.content[0].text)["auth_method"] == "api_key"


@pytest.mark.parametrize("mode", ERAS)
def test_tool_failure_is_an_error_result(live_tenant: LiveTenant, mode: str) -> None:
    async def run(client: Client) -> Any:
        return await client.call_tool("test_error_handling", {})

    result = _run(live_tenant, mode, {"run": run})
    assert result.is_error is True


@pytest.mark.parametrize("mode", ERAS)
def test_client_answers_an_elicitation(live_tenant: LiveTenant, mode: str) -> None:
    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={"name": "Ada"})

    async def run(client: Client) -> Any:
        return await client.call_tool("test_input_required_result_elicitation", {})

    result = _run(live_tenant, mode, {"run": run, "client": {"elicitation_callback": elicit}})
    assert result.content[0].text == "Hello, Ada!"


@pytest.mark.parametrize("mode", ERAS)
def test_resources_and_prompts(live_tenant: LiveTenant, mode: str) -> None:
    async def run(client: Client) -> Any:
        resources = await client.list_resources()
        text = await client.read_resource("test://static-text")
        prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "x", "arg2": "y"})
        return resources, text, prompt

    resources, text, prompt = _run(live_tenant, mode, {"run": run})
    assert "test://static-text" in [str(r.uri) for r in resources.resources]
    assert text.contents[0].text.startswith("This is the content")
    assert prompt.messages[0].content.text == "Prompt with arguments: arg1='x', arg2='y'"
