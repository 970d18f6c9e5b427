"""Two real server processes on one database and Redis: a request running on one instance is
cancelled by a notifications/cancelled sent to the other (both eras), and a 2025-11-25 stream
closed by the server (SEP-1699) is resumed by the official SDK client on either instance."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.interop.faults import MODERN, headers
from tests.interop.instances import Cluster

pytestmark = pytest.mark.own_database

OLDER = "2025-06-18"


@dataclass
class Pair:
    urls: list[str]
    key: str
    other: str
    ticks: Path

    def marks(self, name: str) -> list[str]:
        path = self.ticks / name
        return path.read_text().split() if path.exists() else []


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.fail("TEST_REDIS_URL is not set: run the suite with `make test`.")
    tmp_path = tmp_path_factory.mktemp("pair")
    ticks = tmp_path / "ticks"
    ticks.mkdir()
    cluster = Cluster(redis_url=redis_url, tmp_path=tmp_path, keys=secrets.token_hex(32))
    overrides = {"MCP_SERVER": {"SSE_POLL_CLOSE_AFTER": 0.6, "SSE_RETRY_MS": 100}}
    cluster.env.update(
        DJANGO_SETTINGS_MODULE="tests.interop.instance_settings",
        MCP_TEST_OVERRIDES=json.dumps(overrides),
        MCP_TEST_TICK_DIR=str(ticks),
    )
    key = cluster.setup_tenant()
    cluster.manage("set_tenant_tools", "pair", "--toolsets", "builtin,conformance,ticker")
    other = cluster.manage("create_api_key", "pair", "--name", "other").strip().splitlines()[-1]
    cluster.start(0)
    cluster.start(1)
    try:
        yield Pair(urls=cluster.urls, key=key, other=other, ticks=ticks)
    finally:
        cluster.stop_all()


def _tick(ident: Any, name: str, meta: dict[str, Any]) -> str:
    arguments = {"name": name, "steps": 150, "interval": 0.1}
    params = {"name": "tick", "arguments": arguments, "_meta": {**meta, "progressToken": "p"}}
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": "tools/call", "params": params})


def _cancel(ident: Any) -> str:
    params = {"requestId": ident, "reason": "stop"}
    return json.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params})


def _until_progress(lines: Iterator[str]) -> None:
    for line in lines:
        if line.startswith("data:") and "notifications/progress" in line:
            return
    pytest.fail("the stream ended before any progress")


def _still_counting(pair: Pair, name: str) -> None:
    before = len(pair.marks(name))
    time.sleep(0.5)
    assert len(pair.marks(name)) > before


def _stopped(pair: Pair, name: str, rest: list[str]) -> None:
    assert not any('"result"' in line for line in rest)
    stopped_at = pair.marks(name)
    time.sleep(0.5)  # five more steps, had the handler gone on
    assert pair.marks(name) == stopped_at
    assert len(stopped_at) < 150


def test_a_stateless_request_is_cancelled_from_the_other_instance(pair: Pair) -> None:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    call = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "tick"}
    note = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "notifications/cancelled"}
    first, second = pair.urls
    with httpx2.Client(timeout=10) as http, httpx2.Client(timeout=10) as control:
        body = _tick("run-1", "modern", meta)
        with http.stream("POST", first, content=body, headers=headers(pair.key, **call)) as reply:
            assert reply.status_code == 200
            lines = reply.iter_lines()
            _until_progress(lines)
            ignored = control.post(
                second, content=_cancel("run-1"), headers=headers(pair.other, **note)
            )
            assert ignored.status_code == 202
            _still_counting(pair, "modern")
            done = control.post(second, content=_cancel("run-1"), headers=headers(pair.key, **note))
            assert done.status_code == 202
            rest = list(lines)  # the stream ends
    _stopped(pair, "modern", rest)


def test_a_session_request_is_cancelled_from_the_other_instance(pair: Pair) -> None:
    first, second = pair.urls
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": OLDER, "capabilities": {}, "clientInfo": {"name": "t"}},
    }
    with httpx2.Client(timeout=10) as http, httpx2.Client(timeout=10) as control:
        opened = http.post(first, content=json.dumps(init), headers=headers(pair.key))
        session = {
            "Mcp-Session-Id": opened.headers["mcp-session-id"],
            "MCP-Protocol-Version": OLDER,
        }
        with http.stream(
            "POST", first, content=_tick(9, "legacy", {}), headers=headers(pair.key, **session)
        ) as reply:
            assert reply.status_code == 200
            lines = reply.iter_lines()
            _until_progress(lines)
            # Another credential does not even see the session.
            refused = control.post(
                second, content=_cancel(9), headers=headers(pair.other, **session)
            )
            assert refused.status_code == 404
            _still_counting(pair, "legacy")
            done = control.post(second, content=_cancel(9), headers=headers(pair.key, **session))
            assert done.status_code == 202
            rest = list(lines)
        _stopped(pair, "legacy", rest)
        ping = {"jsonrpc": "2.0", "id": 10, "method": "ping"}
        assert (
            http.post(
                second, content=json.dumps(ping), headers=headers(pair.key, **session)
            ).json()["result"]
            == {}
        )


class _Tee(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, into: bytearray) -> None:
        self.inner = inner
        self.into = into

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            self.into += chunk
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Router(httpx2.AsyncBaseTransport):
    """POSTs to the first instance; each resumption (GET with Last-Event-ID) to the other
    instance than the one before, starting with the second; every event stream recorded."""

    def __init__(self, ports: list[int]) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.ports = ports
        self.resumed_on: list[int] = []
        self.streams: list[bytearray] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self.ports[0]
        if request.method == "GET" and "last-event-id" in request.headers:
            port = self.ports[(len(self.resumed_on) + 1) % 2]
            self.resumed_on.append(port)
        request.url = request.url.copy_with(port=port)
        request.headers["host"] = f"127.0.0.1:{port}"
        response = await self.inner.handle_async_request(request)
        if "text/event-stream" in response.headers.get("content-type", ""):
            self.streams.append(bytearray())
            response.stream = _Tee(response.stream, self.streams[-1])  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_the_sdk_client_resumes_a_polled_stream_on_either_instance(pair: Pair) -> None:
    ports = [int(url.split(":")[2].split("/")[0]) for url in pair.urls]
    router = _Router(ports)
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async def main() -> Any:
        auth = {"Authorization": f"Bearer {pair.key}"}
        async with httpx2.AsyncClient(headers=auth, timeout=10, transport=router) as http:
            transport = streamable_http_client(pair.urls[0], http_client=http)
            async with Client(transport, mode="legacy") as client:
                arguments = {"name": "sdk", "steps": 10, "interval": 0.2}
                return await client.call_tool("tick", arguments, progress_callback=on_progress)

    result = anyio.run(main)
    assert result.content[0].text == "counted to 10"
    assert seen == [float(n) for n in range(1, 11)]  # every step once, in order
    assert pair.marks("sdk") == [str(n) for n in range(1, 11)]
    # Closed at least once and resumed, on the other instance first.
    assert router.resumed_on and router.resumed_on[0] == ports[1]
    ids = [
        line[3:].strip()
        for stream in router.streams
        for line in stream.decode().splitlines()
        if line.startswith("id:")
    ]
    assert len(ids) == len(set(ids)) >= 11  # a priming event, ten steps, the answer
