"""The 2026-07-28 (stateless) era over HTTP."""

import pytest
from django.conf import settings
from django.test import override_settings

from mcpserver.eras import META_SERVER_INFO, SUPPORTED_VERSIONS
from tests.mcpserver.conftest import MODERN, Endpoint, request

# Requests go through database_sync_to_async, which must not run inside a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def test_discover_lists_versions_capabilities_and_server_info(endpoint: Endpoint) -> None:
    response = endpoint.modern("server/discover")
    assert response.status == 200
    assert "mcp-session-id" not in response.headers
    result = response.json()["result"]
    assert result["supportedVersions"] == list(SUPPORTED_VERSIONS)
    assert result["capabilities"]["tools"] == {"listChanged": True}
    assert result["resultType"] == "complete"
    assert result["_meta"][META_SERVER_INFO]["name"] == "mcp-tenant-server"
    assert result["cacheScope"] in ("public", "private")
    assert isinstance(result["ttlMs"], int)


def test_tools_list_is_deterministic_and_cacheable(endpoint: Endpoint) -> None:
    first = endpoint.modern("tools/list").json()["result"]
    second = endpoint.modern("tools/list").json()["result"]
    names = [tool["name"] for tool in first["tools"]]
    assert names == [tool["name"] for tool in second["tools"]]
    assert names[0] == "whoami"
    assert "test_simple_text" in names
    assert first["ttlMs"] >= 0
    assert first["cacheScope"] == "private"


def test_tools_list_pages_with_opaque_cursors(endpoint: Endpoint) -> None:
    all_names = [t["name"] for t in endpoint.modern("tools/list").json()["result"]["tools"]]
    with override_settings(MCP_SERVER={**settings.MCP_SERVER, "PAGE_SIZE": 5}):
        seen: list[str] = []
        params: dict = {}
        while True:
            result = endpoint.modern("tools/list", params).json()["result"]
            seen += [t["name"] for t in result["tools"]]
            if "nextCursor" not in result:
                break
            params = {"cursor": result["nextCursor"]}
    assert seen == all_names


@pytest.mark.parametrize("cursor", ["garbage", "eyJvIjogLTF9", "eyJvIjogOTk5OX0", 5])
def test_bad_cursor_is_32602(endpoint: Endpoint, cursor: object) -> None:
    response = endpoint.modern("tools/list", {"cursor": cursor})
    assert response.json()["error"]["code"] == -32602


def test_whoami_returns_the_caller_with_structured_content(endpoint: Endpoint) -> None:
    result = endpoint.modern("tools/call", {"name": "whoami", "arguments": {}}).json()["result"]
    assert result["structuredContent"]["tenant"] == "acme"
    assert result["structuredContent"]["auth_method"] == "api_key"
    assert result["structuredContent"]["scopes"] == ["mcp:tools"]
    assert result["content"][0]["type"] == "text"


def test_tool_failure_is_an_error_result(endpoint: Endpoint) -> None:
    response = endpoint.modern("tools/call", {"name": "test_error_handling"})
    assert response.status == 200
    result = response.json()["result"]
    assert result["isError"] is True
    assert "intentionally" in result["content"][0]["text"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"mcp-protocol-version": "2025-11-25"}, -32020),
        ({"mcp-method": "tools/list"}, -32020),
        ({"mcp-name": "whoami-not"}, -32020),
    ],
)
def test_header_mismatch_is_400_32020(endpoint: Endpoint, change: dict, code: int) -> None:
    response = endpoint.modern("tools/call", {"name": "whoami"}, headers=change)
    assert response.status == 400
    assert response.json()["error"]["code"] == code


def test_unsupported_version_names_supported_ones(endpoint: Endpoint) -> None:
    response = endpoint.modern(
        "server/discover",
        {"_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01"}},
        headers={"mcp-protocol-version": "2099-01-01"},
        ident="x",
    )
    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == -32022
    assert error["data"] == {"supported": list(SUPPORTED_VERSIONS), "requested": "2099-01-01"}
    assert response.json()["id"] == "x"


def test_missing_meta_is_400_32602(endpoint: Endpoint) -> None:
    headers = endpoint.base_headers(
        **{"mcp-protocol-version": MODERN, "mcp-method": "server/discover"}
    )
    body = b'{"jsonrpc": "2.0", "id": 3, "method": "server/discover", "params": {}}'
    response = request("POST", endpoint.path, body, headers)
    assert response.status == 400
    assert response.json()["error"]["code"] == -32602


@pytest.mark.parametrize("method", ["initialize", "ping", "logging/setLevel"])
def test_legacy_only_methods_are_404(endpoint: Endpoint, method: str) -> None:
    response = endpoint.modern(method)
    assert response.status == 404
    assert response.json()["error"]["code"] == -32601


def test_missing_client_capability_is_32021(endpoint: Endpoint) -> None:
    response = endpoint.modern("tools/call", {"name": "test_missing_capability"})
    assert response.status == 400
    assert response.json()["error"]["data"] == {"requiredCapabilities": {"sampling": {}}}


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_without_session_are_405(endpoint: Endpoint, method: str) -> None:
    headers = endpoint.base_headers(**{"mcp-protocol-version": MODERN})
    assert request(method, endpoint.path, b"", headers).status == 405


def test_no_log_messages_without_a_log_level(endpoint: Endpoint) -> None:
    quiet = endpoint.modern("tools/call", {"name": "test_tool_with_logging"})
    assert quiet.headers["content-type"] == "application/json"
    loud = endpoint.modern("tools/call", {"name": "test_tool_with_logging"}, log_level="info")
    assert loud.headers["content-type"] == "text/event-stream"
    logs = [e for e in loud.events() if e.get("method") == "notifications/message"]
    assert [e["params"]["data"] for e in logs] == [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
    ]
    assert loud.message()["result"]["content"][0]["text"].startswith("Tool with logging")


def test_progress_only_with_a_token_and_increasing(endpoint: Endpoint) -> None:
    params = {"name": "test_tool_with_progress", "_meta": {"progressToken": "p1"}}
    response = endpoint.modern("tools/call", params)
    progress = [e["params"] for e in response.events() if e.get("method")]
    assert [p["progress"] for p in progress] == [0, 50, 100]
    assert all(p["progressToken"] == "p1" for p in progress)
    assert response.message()["result"]["content"][0]["text"] == "p1"


def test_resource_not_found_is_32602_with_uri(endpoint: Endpoint) -> None:
    response = endpoint.modern("resources/read", {"uri": "test://nope"})
    assert response.json()["error"]["code"] == -32602
    assert response.json()["error"]["data"] == {"uri": "test://nope"}


def test_resource_template_and_prompt(endpoint: Endpoint) -> None:
    read = endpoint.modern("resources/read", {"uri": "test://template/42/data"}).json()
    assert '"id": "42"' in read["result"]["contents"][0]["text"]
    prompt = endpoint.modern(
        "prompts/get",
        {"name": "test_prompt_with_arguments", "arguments": {"arg1": "a", "arg2": "b"}},
    ).json()["result"]
    assert prompt["messages"][0]["content"]["text"] == "Prompt with arguments: arg1='a', arg2='b'"


def test_listen_stream_acknowledges_then_relays_requested_changes(endpoint: Endpoint) -> None:
    import json

    from asgiref.sync import async_to_sync
    from channels.testing import HttpCommunicator

    from tests.mcpserver.conftest import _application, arequest

    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    listen = {
        "jsonrpc": "2.0",
        "id": "sub-1",
        "method": "subscriptions/listen",
        "params": {"_meta": meta, "notifications": {"toolsListChanged": True}},
    }
    headers = endpoint.base_headers(
        **{"mcp-protocol-version": MODERN, "mcp-method": "subscriptions/listen"}
    )

    async def scenario() -> list[dict]:
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        body = json.dumps(listen).encode()
        stream = HttpCommunicator(_application(), "POST", endpoint.path, body, raw)
        await stream.send_input({"type": "http.request", "body": body})
        assert (await stream.receive_output(3))["status"] == 200
        frames = [(await stream.receive_output(3))["body"]]
        for trigger in ("test_trigger_prompt_change", "test_trigger_tool_change"):
            call = {
                "jsonrpc": "2.0",
                "id": trigger,
                "method": "tools/call",
                "params": {"name": trigger, "_meta": meta},
            }
            call_headers = {**headers, "mcp-method": "tools/call", "mcp-name": trigger}
            done = await arequest("POST", endpoint.path, json.dumps(call).encode(), call_headers)
            assert done.status == 200
        frames.append((await stream.receive_output(3))["body"])
        await stream.send_input({"type": "http.disconnect"})
        await stream.wait(3)
        return [json.loads(f.decode().split("data: ", 1)[1]) for f in frames]

    ack, change = async_to_sync(scenario)()
    assert ack["method"] == "notifications/subscriptions/acknowledged"
    assert ack["params"]["notifications"] == {"toolsListChanged": True}
    assert change["method"] == "notifications/tools/list_changed"
    assert change["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "sub-1"


def test_closing_the_stream_cancels_the_request(endpoint: Endpoint) -> None:
    import asyncio
    import json

    from asgiref.sync import async_to_sync
    from channels.testing import HttpCommunicator

    from tests.mcpserver.conftest import _application

    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "progressToken": "t",
    }
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "test_tool_with_progress", "_meta": meta},
    }
    headers = endpoint.base_headers(
        **{
            "mcp-protocol-version": MODERN,
            "mcp-method": "tools/call",
            "mcp-name": "test_tool_with_progress",
        }
    )

    async def scenario() -> list[dict]:
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        body = json.dumps(call).encode()
        stream = HttpCommunicator(_application(), "POST", endpoint.path, body, raw)
        await stream.send_input({"type": "http.request", "body": body})
        assert (await stream.receive_output(3))["status"] == 200
        first = await stream.receive_output(3)
        await stream.send_input({"type": "http.disconnect"})
        await stream.wait(3)  # the application returned: the tool did not run on
        await asyncio.sleep(0.2)  # longer than the tool's remaining steps
        later = []
        while not stream.output_queue.empty():
            later.append(stream.output_queue.get_nowait())
        return [first, *later]

    frames = async_to_sync(scenario)()
    assert b"notifications/progress" in frames[0]["body"]
    assert not any(b'"result"' in frame.get("body", b"") for frame in frames)
