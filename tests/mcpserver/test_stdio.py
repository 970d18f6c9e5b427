"""The stdio transport: the same dispatcher, one JSON message per line, both eras."""

import asyncio
import json
from typing import Any

from mcpserver.protocol.stdio import StdioServer
from tenants.principal import AuthMethod, Principal
from tenants.snapshots import TenantView

TENANT = TenantView(id=1, slug="acme", name="Acme", status="active", enabled_toolsets=())
PRINCIPAL = Principal(
    tenant_id=1,
    tenant_slug="acme",
    subject="apikey:ak_test",
    auth_method=AuthMethod.API_KEY,
    fingerprint="f" * 64,
)
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


def converse(lines: list[Any], answer: Any = None) -> list[dict]:
    out: list[dict] = []

    async def main() -> None:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for line in lines:
            queue.put_nowait(line if isinstance(line, bytes) else json.dumps(line).encode())

        async def write(data: bytes) -> None:
            message = json.loads(data)
            out.append(message)
            if answer and message.get("method") == answer[0]:
                queue.put_nowait(
                    json.dumps({"jsonrpc": "2.0", "id": message["id"], **answer[1]}).encode()
                )

        async def readline() -> bytes:
            await asyncio.sleep(0.05)
            return b"" if queue.empty() else queue.get_nowait()

        await StdioServer(TENANT, PRINCIPAL, ("builtin", "conformance"), write).serve(readline)

    asyncio.run(main())
    return out


def test_modern_request_needs_no_handshake() -> None:
    out = converse(
        [
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "whoami", "_meta": MODERN_META},
            }
        ]
    )
    assert out[0]["result"]["structuredContent"]["tenant"] == "acme"
    assert out[0]["result"]["resultType"] == "complete"


def test_legacy_needs_initialize_then_asks_the_client() -> None:
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {"sampling": {}},
            "clientInfo": {},
        },
    }
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "test_sampling", "arguments": {"prompt": "hi"}},
    }
    early = converse([{"jsonrpc": "2.0", "id": 9, "method": "tools/list"}])
    assert early[0]["error"]["code"] == -32600
    sampled = {
        "result": {"role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "m"}
    }
    out = converse([init, call], answer=("sampling/createMessage", sampled))
    assert out[0]["result"]["protocolVersion"] == "2025-11-25"
    assert out[1]["method"] == "sampling/createMessage"
    assert out[2]["result"]["content"][0]["text"] == "LLM response: Paris"


def test_garbage_line_is_a_parse_error() -> None:
    assert converse([b"{nope"])[0]["error"]["code"] == -32700


def test_a_cancelled_request_gets_no_answer_and_the_rest_goes_on() -> None:
    """The sampling request is never answered: only the cancellation ends the call."""
    out: list[dict] = []
    lines = [
        {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {"sampling": {}}},
        },
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "test_sampling", "arguments": {"prompt": "never answered"}},
        },
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
        {"jsonrpc": "2.0", "id": 2, "method": "ping"},
    ]

    async def main() -> None:
        queue = [json.dumps(line).encode() for line in lines]

        async def write(data: bytes) -> None:
            out.append(json.loads(data))

        async def readline() -> bytes:
            await asyncio.sleep(0.05)
            return queue.pop(0) if queue else b""

        server = StdioServer(TENANT, PRINCIPAL, ("builtin", "conformance"), write)
        await asyncio.wait_for(server.serve(readline), 5)

    asyncio.run(main())
    assert [m.get("method") for m in out if "method" in m] == ["sampling/createMessage"]
    assert [m["id"] for m in out if "result" in m or "error" in m] == [0, 2]
