"""Drive the real ASGI application (router, authentication, consumer) in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.conf import settings

from mcpserver.eras import META_CAPABILITIES, META_LOG_LEVEL, META_VERSION

ROOT = Path(settings.BASE_DIR)
MODERN = "2026-07-28"
LEGACY = "2025-11-25"
NAMED = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> list[dict[str, Any]]:
        """The JSON messages of an SSE body, in order."""
        out = []
        for line in self.body.decode().splitlines():
            if line.startswith("data: ") and line[6:].strip():
                out.append(json.loads(line[6:]))
        return out

    def message(self) -> dict[str, Any]:
        """The final JSON-RPC response, whether sent as JSON or as the last SSE event."""
        if self.headers.get("content-type", "").startswith("text/event-stream"):
            return self.events()[-1]
        return self.json()


def _application() -> Any:
    from mcpserver.asgi import application

    return application


def request(
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 3,
) -> Response:
    _refuse_inside_test_transaction()
    return async_to_sync(arequest)(method, path, body, headers, timeout)


def _refuse_inside_test_transaction() -> None:
    """The application's ORM work runs on this thread's connection (thread-sensitive
    sync_to_async under async_to_sync), and Django closes a connection it finds inside a
    transaction at a request's edges: on PostgreSQL the test's own connection would be gone
    for the rest of the test. SQLite's in-memory database hides that, so refuse everywhere."""
    from django.db import connection

    if connection.in_atomic_block:
        raise RuntimeError(
            "drive the application only from tests marked django_db(transaction=True)"
        )


async def arequest(
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 3,  # noqa: ASYNC109 (handed to the communicator)
) -> Response:
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    communicator = HttpCommunicator(_application(), method, path, body, raw_headers)
    try:
        response = await communicator.get_response(timeout=timeout)
    finally:
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(timeout=timeout)
    return Response(
        status=response["status"],
        headers={k.decode().lower(): v.decode() for k, v in response["headers"]},
        body=response["body"],
    )


@dataclass
class Endpoint:
    """A tenant's /mcp/<slug> with a valid API key."""

    slug: str
    key: str

    @property
    def path(self) -> str:
        return f"/mcp/{self.slug}"

    def base_headers(self, **extra: str) -> dict[str, str]:
        headers = {
            "host": "localhost",
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "authorization": f"Bearer {self.key}",
        }
        headers.update({k.replace("_", "-"): v for k, v in extra.items()})
        return headers

    def modern(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        ident: Any = 1,
        capabilities: dict[str, Any] | None = None,
        log_level: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        params = dict(params or {})
        meta = {META_VERSION: MODERN, META_CAPABILITIES: capabilities or {}}
        if log_level:
            meta[META_LOG_LEVEL] = log_level
        params["_meta"] = {**meta, **params.get("_meta", {})}
        h = self.base_headers()
        h.update({"mcp-protocol-version": MODERN, "mcp-method": method})
        if method in NAMED and isinstance(params.get(NAMED[method]), str):
            h["mcp-name"] = params[NAMED[method]]
        h.update(headers or {})
        body = json.dumps({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        return request("POST", self.path, body.encode(), h)

    def initialize(self, version: str = LEGACY, capabilities: dict[str, Any] | None = None) -> str:
        body = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": version,
                "capabilities": capabilities or {},
                "clientInfo": {"name": "pytest", "version": "1"},
            },
        }
        response = request("POST", self.path, json.dumps(body).encode(), self.base_headers())
        assert response.status == 200, response.body
        session = response.headers["mcp-session-id"]
        self.legacy_raw(session, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        return session

    def legacy_raw(
        self, session: str | None, message: Any, headers: dict[str, str] | None = None
    ) -> Response:
        h = self.base_headers(**{"mcp-protocol-version": LEGACY})
        if session:
            h["mcp-session-id"] = session
        h.update(headers or {})
        return request("POST", self.path, json.dumps(message).encode(), h)

    def legacy(
        self, session: str, method: str, params: dict[str, Any] | None = None, ident: Any = 1
    ) -> Response:
        message = {"jsonrpc": "2.0", "id": ident, "method": method, "params": params or {}}
        return self.legacy_raw(session, message)


@pytest.fixture
def endpoint(make_tenant: Callable[..., Any], make_api_key: Callable[..., Any]) -> Endpoint:
    tenant = make_tenant("acme", toolsets=["builtin", "conformance"])
    _key, raw = make_api_key(tenant, scopes=["mcp:tools"])
    return Endpoint(slug=tenant.slug, key=raw)


@pytest.fixture
def other_key(endpoint: Endpoint, make_api_key: Callable[..., Any]) -> str:
    from tenants.models import Tenant

    _key, raw = make_api_key(Tenant.objects.get(slug=endpoint.slug), name="second")
    return str(raw)


# --- The server as operators start it: a real daphne process ---------------------------------


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MCP_", "DATABASE_"))
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/serve.sqlite3"
    env.update(extra)
    env.pop("REDIS_URL", None)
    return env


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclass
class Served:
    """A running daphne: its base URL, port, and everything it wrote to stdout and stderr."""

    base: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(url: str, served: Served, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if served.proc.poll() is not None:
            raise AssertionError(f"server exited: {served.output()}")
        try:
            # This server's own health answer: any other HTTP answer (another process that
            # holds the port for now) is not the server being up.
            status, body = get(url)
            if status == 200 and body.startswith(b'{"status"'):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not start")


def start_daphne(env: dict[str, str], port: int, log: Path, *options: str) -> Served:
    """``daphne -b 127.0.0.1 -p PORT mcpserver.asgi:application``, as documented."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", *options, "-b", "127.0.0.1", "-p", str(port),
             "mcpserver.asgi:application"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    served = Served(base=f"http://127.0.0.1:{port}", port=port, proc=proc, log=log)
    wait_for(served.base + "/healthz", served)
    return served


def stop_daphne(served: Served) -> None:
    served.proc.terminate()
    served.proc.wait(timeout=10)


@pytest.fixture
def daphne(free_port: int, tmp_path: Path) -> Iterator[Callable[..., Served]]:
    running: list[Served] = []

    def start(env: dict[str, str], *options: str) -> Served:
        running.append(start_daphne(env, free_port, tmp_path / "daphne.log", *options))
        return running[-1]

    yield start
    for served in running:
        stop_daphne(served)
