"""notifications/cancelled in both eras, and a 2026-07-28 client closing its connection: the
named request's handler stops, its stream ends with no answer, and only the principal that sent
the request can cancel it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator

from tests.mcpserver.conftest import LEGACY, MODERN, Endpoint, _application

pytestmark = pytest.mark.django_db(transaction=True)

META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
}


@pytest.fixture
def ticks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the ticker tool marks its steps."""
    monkeypatch.setenv("MCP_TEST_TICK_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def endpoint(make_tenant: Callable[..., Any], make_api_key: Callable[..., Any]) -> Endpoint:
    tenant = make_tenant("ticking", toolsets=["builtin", "conformance", "ticker"])
    _key, raw = make_api_key(tenant)
    return Endpoint(slug=tenant.slug, key=raw)


@pytest.fixture
def other_key(endpoint: Endpoint, make_api_key: Callable[..., Any]) -> str:
    from tenants.models import Tenant

    _key, raw = make_api_key(Tenant.objects.get(slug=endpoint.slug), name="second")
    return str(raw)


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in headers.items()]


def _tick_call(ident: Any, name: str, *, steps: int = 200, modern: bool = True) -> dict[str, Any]:
    params: dict[str, Any] = {
        "name": "tick",
        "arguments": {"name": name, "steps": steps, "interval": 0.05},
        "_meta": {**(META if modern else {}), "progressToken": "p"},
    }
    return {"jsonrpc": "2.0", "id": ident, "method": "tools/call", "params": params}


def _cancel(ident: Any) -> bytes:
    note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": ident}}
    return json.dumps(note).encode()


def _modern_headers(endpoint: Endpoint, method: str, key: str | None = None) -> dict[str, str]:
    headers = endpoint.base_headers(**{"mcp-protocol-version": MODERN, "mcp-method": method})
    if method == "tools/call":
        headers["mcp-name"] = "tick"
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    return headers


async def _rest_of(stream: HttpCommunicator) -> list[bytes]:
    chunks = []
    while True:
        chunk = await stream.receive_output(5)
        chunks.append(chunk.get("body", b""))
        if not chunk.get("more_body"):
            return chunks


def _marks(directory: Path, name: str) -> list[str]:
    path = directory / name
    return path.read_text().split() if path.exists() else []


def _recorded_results() -> list[str]:
    """The results on the tick tool's audit records, once the journal's queue is written."""
    from tenants import toolaudit
    from tenants.models import AuditLog

    assert toolaudit.journal().flush(timeout=5)
    rows = AuditLog.objects.filter(action=toolaudit.ACTION, target="tick")
    return [f"{row.details['result']}/{row.outcome}" for row in rows]


def test_a_stateless_request_is_cancelled_by_notification(endpoint: Endpoint, ticks: Path) -> None:
    async def scenario() -> list[bytes]:
        app = _application()
        body = json.dumps(_tick_call("job-1", "modern")).encode()
        stream = HttpCommunicator(
            app, "POST", endpoint.path, body, _raw(_modern_headers(endpoint, "tools/call"))
        )
        await stream.send_input({"type": "http.request", "body": body})
        assert (await stream.receive_output(3))["status"] == 200
        assert b"notifications/progress" in (await stream.receive_output(3))["body"]
        note = HttpCommunicator(
            app, "POST", endpoint.path, _cancel("job-1"),
            _raw(_modern_headers(endpoint, "notifications/cancelled")),
        )  # fmt: skip
        assert (await note.get_response(3))["status"] == 202
        rest = await _rest_of(stream)
        await stream.wait(3)
        return rest

    rest = async_to_sync(scenario)()
    # The stream ends with no answer: perhaps a progress event already on its way, then the end.
    assert rest[-1] == b""
    assert not any(b'"result"' in chunk for chunk in rest)
    stopped_at = _marks(ticks, "modern")
    async_to_sync(asyncio.sleep)(0.3)  # six more steps, had it gone on
    assert _marks(ticks, "modern") == stopped_at
    assert len(stopped_at) < 200
    assert _recorded_results() == ["cancelled/cancelled"]


def test_a_stateless_call_whose_client_leaves_before_any_response_is_cancelled(
    endpoint: Endpoint, ticks: Path
) -> None:
    # No progress token: the answer would be plain JSON, so nothing has been sent when the
    # client closes the connection; in 2026-07-28 that close is the only cancellation.
    call = _tick_call("job-left", "left")
    del call["params"]["_meta"]["progressToken"]

    async def scenario() -> bool:
        app = _application()
        body = json.dumps(call).encode()
        stream = HttpCommunicator(
            app, "POST", endpoint.path, body, _raw(_modern_headers(endpoint, "tools/call"))
        )
        await stream.send_input({"type": "http.request", "body": body})
        for _ in range(150):  # the tool is running...
            if len(_marks(ticks, "left")) >= 3:
                break
            await asyncio.sleep(0.02)
        await stream.send_input({"type": "http.disconnect"})  # ...when its client leaves
        await stream.wait(3)  # the request ends, with no answer
        return await stream.receive_nothing(0.1)

    assert async_to_sync(scenario)() is True
    stopped_at = _marks(ticks, "left")
    async_to_sync(asyncio.sleep)(0.3)  # six more steps, had it gone on
    assert _marks(ticks, "left") == stopped_at
    assert 3 <= len(stopped_at) < 200
    assert _recorded_results() == ["cancelled/cancelled"]


def test_another_principals_cancellation_is_ignored(
    endpoint: Endpoint, other_key: str, ticks: Path
) -> None:
    async def scenario() -> list[bytes]:
        app = _application()
        body = json.dumps(_tick_call(5, "kept", steps=10)).encode()
        stream = HttpCommunicator(
            app, "POST", endpoint.path, body, _raw(_modern_headers(endpoint, "tools/call"))
        )
        await stream.send_input({"type": "http.request", "body": body})
        assert (await stream.receive_output(3))["status"] == 200
        await stream.receive_output(3)
        headers = _modern_headers(endpoint, "notifications/cancelled", key=other_key)
        note = HttpCommunicator(app, "POST", endpoint.path, _cancel(5), _raw(headers))
        assert (await note.get_response(3))["status"] == 202
        rest = await _rest_of(stream)
        await stream.wait(3)
        return rest

    rest = b"".join(async_to_sync(scenario)())
    assert b'"counted to 10"' in rest
    assert _marks(ticks, "kept") == [str(step) for step in range(1, 11)]
    assert _recorded_results() == ["ok/success"]


def test_a_cancellation_that_overtakes_its_request_still_cancels_it(
    endpoint: Endpoint, ticks: Path
) -> None:
    async def scenario() -> dict[str, Any]:
        app = _application()
        headers = _raw(_modern_headers(endpoint, "notifications/cancelled"))
        note = HttpCommunicator(app, "POST", endpoint.path, _cancel("early"), headers)
        assert (await note.get_response(3))["status"] == 202
        body = json.dumps(_tick_call("early", "early")).encode()
        call = HttpCommunicator(
            app, "POST", endpoint.path, body, _raw(_modern_headers(endpoint, "tools/call"))
        )
        return await call.get_response(3)

    response = async_to_sync(scenario)()
    assert response["status"] == 200 and response["body"] == b""
    assert dict(response["headers"])[b"content-type"] == b"text/event-stream"
    assert len(_marks(ticks, "early")) <= 1


def test_a_session_request_is_cancelled_and_the_session_goes_on(
    endpoint: Endpoint, ticks: Path
) -> None:
    session = endpoint.initialize()
    headers = endpoint.base_headers(**{"mcp-session-id": session, "mcp-protocol-version": LEGACY})

    async def scenario() -> list[bytes]:
        app = _application()
        body = json.dumps(_tick_call(7, "legacy", modern=False)).encode()
        stream = HttpCommunicator(app, "POST", endpoint.path, body, _raw(headers))
        await stream.send_input({"type": "http.request", "body": body})
        assert (await stream.receive_output(3))["status"] == 200
        await stream.receive_output(3)  # priming event
        await stream.receive_output(3)  # first progress
        note = HttpCommunicator(app, "POST", endpoint.path, _cancel(7), _raw(headers))
        assert (await note.get_response(3))["status"] == 202
        rest = await _rest_of(stream)
        await stream.wait(3)
        return rest

    rest = async_to_sync(scenario)()
    assert rest[-1] == b"" and not any(b'"result"' in chunk for chunk in rest)
    stopped_at = _marks(ticks, "legacy")
    async_to_sync(asyncio.sleep)(0.3)
    assert _marks(ticks, "legacy") == stopped_at
    assert endpoint.legacy(session, "ping", ident=8).json()["result"] == {}
    assert _recorded_results() == ["cancelled/cancelled"]
