"""Drive the real ASGI application (router, authentication, consumer) in-process."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator

from mcpserver.eras import META_CAPABILITIES, META_LOG_LEVEL, META_VERSION

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
    return async_to_sync(arequest)(method, path, body, headers, timeout)


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
