"""Stub upstreams on loopback for the gateway's tests, each recording the headers it got.

- ``StubMcp``: an MCP server written with the official SDK (``MCPServer``), served by uvicorn
  in a thread. ``legacy_only`` turns away every 2026-07-28 request with a bare 400, as a
  server that only speaks 2025-11-25 does, so the gateway's client falls back to the handshake.
- ``StubApi``: a small HTTP API (orders, a redirect, a huge answer, garbage, a slow answer).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import unquote

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import BaseModel

from tests.ports import free_port

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Recorder:
    """Every request's headers, lowercased, in arrival order."""

    requests: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def record(self, scope: Scope) -> None:
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers") or ()}
        self.requests.append(headers)
        self.paths.append(scope.get("path", ""))

    def clear(self) -> None:
        self.requests.clear()
        self.paths.clear()

    def all_text(self) -> str:
        return json.dumps(self.requests)


class Served:
    """An ASGI app under uvicorn in a daemon thread."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", lifespan: Any = "on") -> None:
        self.host = host
        self.port = free_port(host)
        config = uvicorn.Config(
            app,
            host=host,
            port=self.port,
            lifespan=lifespan,
            log_level="warning",
            interface="asgi3",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the stub did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


class Name(BaseModel):
    name: str


async def ask_name() -> Elicit[Name]:
    return Elicit("What is your name?", Name)


@dataclass
class StubState:
    cancelled: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)


def build_mcp(state: StubState) -> MCPServer:
    server = MCPServer("stub-upstream", instructions="A stub upstream for tests.")

    @server.tool(description="Echo the text back.")
    async def echo(text: str) -> str:
        return f"echo: {text}"

    @server.tool(description="Add two integers.")
    async def add(a: int, b: int) -> dict[str, int]:
        return {"sum": a + b}

    @server.tool(description="Always fails.")
    async def fail() -> str:
        raise ToolError("the stub failed on purpose")

    @server.tool(description="Sleep, then answer; records whether it was cancelled.")
    async def slow(seconds: float, tag: str = "") -> str:
        state.started.append(tag)
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            state.cancelled.append(tag)
            raise
        return "slept"

    @server.tool(description="Greets the user by the name it asks for.")
    async def greet(who: Annotated[Name, Resolve(ask_name)]) -> str:
        return f"Hello, {who.name}!"

    @server.tool(description="Adds a tool and says the tool list changed.")
    async def grow(ctx: Context) -> str:
        if "grown" not in {tool.name for tool in await server.list_tools()}:

            async def grown() -> str:
                return "I am new"

            server.add_tool(grown, name="grown", description="Added by grow.")
        if ctx.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS:
            await ctx.session.send_tool_list_changed()
        else:
            await ctx.notify_tools_changed()
        return "grown"

    @server.resource("stub://readme", name="readme", mime_type="text/plain")
    def readme() -> str:
        return "Read me: this is the stub."

    @server.prompt(description="Summarize a topic.")
    def summarize(topic: str) -> str:
        return f"Summarize {topic} in one line."

    return server


def recording(app: Any, recorder: Recorder, *, legacy_only: bool) -> App:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        recorder.record(scope)
        version = next(
            (v.decode() for k, v in scope["headers"] if k == b"mcp-protocol-version"), None
        )
        if legacy_only and version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            body = b"Bad Request: Unsupported protocol version"
            await send({"type": "http.response.start", "status": 400, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return wrapped


class StubMcp:
    def __init__(self, *, legacy_only: bool = False) -> None:
        self.state = StubState()
        self.recorder = Recorder()
        self.mcp = build_mcp(self.state)
        app = self.mcp.streamable_http_app()
        self.served = Served(recording(app, self.recorder, legacy_only=legacy_only))

    def start(self) -> StubMcp:
        self.served.start()
        return self

    def stop(self) -> None:
        self.served.stop()

    @property
    def url(self) -> str:
        return f"{self.served.base}/mcp"


# ----- the HTTP API -------------------------------------------------------------------------


class StubApi:
    """``GET /orders/{id}`` and ``POST /orders`` answer JSON; ``/redirect?to=URL`` redirects;
    ``/huge`` sends 5 MB; ``/garbage`` sends bytes that are not JSON; ``/slow`` waits 30 s;
    ``/status/{code}`` answers that status."""

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.recorder = Recorder()
        self.bodies: list[bytes] = []
        self.served = Served(self.app, host=host, lifespan="off")

    def start(self) -> StubApi:
        self.served.start()
        return self

    def stop(self) -> None:
        self.served.stop()

    @property
    def base(self) -> str:
        return self.served.base

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.recorder.record(scope)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        # The raw path: a percent-encoded "/" inside an argument stays one path segment.
        raw = (scope.get("raw_path") or scope["path"].encode()).decode()
        path, query = raw, scope.get("query_string", b"").decode()
        status, headers, payload = await self.answer(scope["method"], path, query, body)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def answer(
        self, method: str, path: str, query: str, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        as_json = [(b"content-type", b"application/json")]
        if path.startswith("/orders/") and method == "GET":
            order = {"order": {"id": unquote(path.rsplit("/", 1)[1]), "query": query, "total": 42}}
            return 200, as_json, json.dumps(order).encode()
        if path == "/orders" and method == "POST":
            return 201, as_json, json.dumps({"created": json.loads(body or b"{}")}).encode()
        if path == "/redirect":
            target = query.removeprefix("to=")
            return 302, [(b"location", target.encode())], b""
        if path == "/huge":
            return 200, as_json, b'"' + b"x" * 5_000_000 + b'"'
        if path == "/garbage":
            return 200, as_json, b"\x00\xffnot json{"
        if path == "/slow":
            await asyncio.sleep(30)
            return 200, as_json, b"{}"
        if path.startswith("/status/"):
            return int(path.rsplit("/", 1)[1]), as_json, b'{"error": "internal details"}'
        return 404, as_json, b'{"error": "not found"}'
