"""SEP-1699 polling in 2025-11-25 sessions: the server closes a request's stream before the
answer (after a priming event and a retry field), and GET with Last-Event-ID resumes it from
the shared event log: every event once, in order, up to the answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.conf import settings
from django.test import override_settings

from tests.mcpserver.conftest import LEGACY, Endpoint, Response, _application, arequest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def endpoint(make_tenant: Callable[..., Any], make_api_key: Callable[..., Any]) -> Endpoint:
    tenant = make_tenant("polled", toolsets=["builtin", "conformance", "ticker"])
    _key, raw = make_api_key(tenant)
    return Endpoint(slug=tenant.slug, key=raw)


@pytest.fixture
def polling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Streams closed after 0.3 s, clients told to come back after 50 ms."""
    monkeypatch.setenv("MCP_TEST_TICK_DIR", str(tmp_path))
    server = {**settings.MCP_SERVER, "SSE_POLL_CLOSE_AFTER": 0.3, "SSE_RETRY_MS": 50}
    with override_settings(MCP_SERVER=server):
        yield tmp_path


def _fields(response: Response) -> list[dict[str, str]]:
    """The SSE events of a body, each as its fields (id, data, retry)."""
    events = []
    for block in response.body.decode().split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, _, value = line.partition(":")
            if name:
                fields[name] = value.removeprefix(" ")
        if fields:
            events.append(fields)
    return events


# A detached request goes on in the event loop that accepted it, as in a server: each test
# runs its requests in one loop (one async_to_sync), not one loop per request.


def _headers(endpoint: Endpoint, session: str, **extra: str) -> dict[str, str]:
    return endpoint.base_headers(
        **{"mcp-session-id": session, "mcp-protocol-version": LEGACY, **extra}
    )


async def _call(
    endpoint: Endpoint, session: str, params: dict[str, Any], ident: Any = 1
) -> Response:
    message = {"jsonrpc": "2.0", "id": ident, "method": "tools/call", "params": params}
    body = json.dumps(message).encode()
    return await arequest("POST", endpoint.path, body, _headers(endpoint, session), timeout=5)


async def _resume(endpoint: Endpoint, session: str, last: str) -> Response:
    headers = _headers(endpoint, session, **{"last-event-id": last})
    headers.pop("content-type")
    return await arequest("GET", endpoint.path, b"", headers, timeout=5)


async def _poll_to_the_end(
    endpoint: Endpoint, session: str, first: Response
) -> tuple[list[dict[str, str]], int]:
    """Every event of the stream, following it over as many resumptions as it takes."""
    events = _fields(first)
    resumptions = 0
    while not any('"result"' in e.get("data", "") for e in events):
        last = [e["id"] for e in events if "id" in e][-1]
        events += _fields(await _resume(endpoint, session, last))
        resumptions += 1
        assert resumptions < 20
    return events, resumptions


def test_the_reconnection_tool_closes_its_stream_and_the_answer_comes_on_resumption(
    endpoint: Endpoint,
) -> None:
    session = endpoint.initialize()

    async def scenario() -> tuple[Response, Response]:
        first = await _call(endpoint, session, {"name": "test_reconnection"})
        return first, await _resume(endpoint, session, _fields(first)[0]["id"])

    first, resumed = async_to_sync(scenario)()
    assert first.headers["content-type"] == "text/event-stream"
    events = _fields(first)
    # A priming event first (an id, empty data), then the retry field; no answer.
    assert events[0]["data"] == "" and events[0]["id"]
    assert events[-1] == {"retry": "1000"}
    assert not any("result" in e.get("data", "") for e in events)

    assert resumed.status == 200 and resumed.headers["content-type"] == "text/event-stream"
    answer = [e for e in _fields(resumed) if e.get("data")]
    assert len(answer) == 1 and answer[0]["id"] != events[0]["id"]
    assert json.loads(answer[0]["data"])["result"]["content"][0]["text"].startswith(
        "Reconnection test completed"
    )


def test_before_2025_11_25_the_stream_is_not_closed_early(endpoint: Endpoint) -> None:
    session = endpoint.initialize(version="2025-06-18")
    response = async_to_sync(_call)(endpoint, session, {"name": "test_reconnection"})
    assert response.message()["result"]["content"][0]["text"].startswith("Reconnection test")


def test_a_long_request_is_polled_to_its_answer_with_every_event_once(
    endpoint: Endpoint, polling: Path
) -> None:
    session = endpoint.initialize()
    params = {
        "name": "tick",
        "arguments": {"name": "polled", "steps": 12, "interval": 0.05},
        "_meta": {"progressToken": "p"},
    }

    async def scenario() -> tuple[Response, list[dict[str, str]], int]:
        first = await _call(endpoint, session, params)
        return first, *await _poll_to_the_end(endpoint, session, first)

    first, events, resumptions = async_to_sync(scenario)()
    assert _fields(first)[-1] == {"retry": "50"}  # closed before the answer
    assert resumptions >= 1
    ids = [e["id"] for e in events if "id" in e]
    assert len(ids) == len(set(ids))
    messages = [json.loads(e["data"]) for e in events if e.get("data")]
    progress = [m["params"]["progress"] for m in messages if m.get("method")]
    assert progress == list(range(1, 13))
    assert messages[-1]["result"]["content"][0]["text"] == "counted to 12"
    assert (polling / "polled").read_text().split() == [str(n) for n in range(1, 13)]


def test_a_polled_request_cancelled_meanwhile_ends_its_stream_without_an_answer(
    endpoint: Endpoint, polling: Path
) -> None:
    session = endpoint.initialize()
    params = {
        "name": "tick",
        "arguments": {"name": "cancelled", "steps": 200, "interval": 0.05},
        "_meta": {"progressToken": "p"},
    }
    note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "long"}}

    async def scenario() -> Response:
        first = await _call(endpoint, session, params, ident="long")
        last = [e["id"] for e in _fields(first) if "id" in e][-1]
        headers = _headers(endpoint, session)
        cancelled = await arequest("POST", endpoint.path, json.dumps(note).encode(), headers)
        assert cancelled.status == 202
        return await _resume(endpoint, session, last)

    resumed = async_to_sync(scenario)()
    assert resumed.status == 200
    assert not any('"result"' in e.get("data", "") for e in _fields(resumed))
    marks = (polling / "cancelled").read_text().split()
    assert len(marks) < 200
    assert (polling / "cancelled").read_text().split() == marks


def test_an_unknown_last_event_id_opens_the_sessions_stream(endpoint: Endpoint) -> None:
    """Nothing to resume (another session's stream, an expired log): the plain GET stream."""
    other = endpoint.initialize()
    session = endpoint.initialize()
    first = async_to_sync(_call)(endpoint, other, {"name": "test_reconnection"})
    foreign = _fields(first)[0]["id"]

    async def opened() -> dict[str, Any]:
        headers = _headers(endpoint, session, **{"last-event-id": foreign})
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        stream = HttpCommunicator(_application(), "GET", endpoint.path, b"", raw)
        await stream.send_input({"type": "http.request", "body": b""})
        start = await stream.receive_output(3)
        body = await stream.receive_output(3)
        await stream.send_input({"type": "http.disconnect"})
        await stream.wait(3)
        return {"status": start["status"], "body": body}

    seen = async_to_sync(opened)()
    assert seen["status"] == 200
    assert seen["body"]["body"] == b"" and seen["body"]["more_body"]  # open, nothing replayed


def test_a_client_leaving_its_stream_leaves_the_request_running_and_resumable(
    endpoint: Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2025-11-25: a disconnection is not a cancellation. The work goes on into the stream's
    log, and GET with the last event id the client saw gets the rest, the answer included."""
    monkeypatch.setenv("MCP_TEST_TICK_DIR", str(tmp_path))
    session = endpoint.initialize()
    params = {
        "name": "tick",
        "arguments": {"name": "left", "steps": 8, "interval": 0.05},
        "_meta": {"progressToken": "p"},
    }
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params})
    raw = [(k.encode(), v.encode()) for k, v in _headers(endpoint, session).items()]
    marks = tmp_path / "left"

    async def scenario() -> tuple[str, Response]:
        stream = HttpCommunicator(_application(), "POST", endpoint.path, body.encode(), raw)
        await stream.send_input({"type": "http.request", "body": body.encode()})
        assert (await stream.receive_output(3))["status"] == 200
        assert (await stream.receive_output(3))["body"].endswith(b"data: \n\n")  # priming
        first = (await stream.receive_output(3))["body"].decode()
        await stream.send_input({"type": "http.disconnect"})
        await stream.wait(3)  # the consumer is done with the connection
        for _ in range(100):  # the tool counts on without the client
            if marks.exists() and len(marks.read_text().split()) == 8:
                break
            await asyncio.sleep(0.05)
        seen = first.split("id: ", 1)[1].split("\n", 1)[0]
        return first, await _resume(endpoint, session, seen)

    server = {**settings.MCP_SERVER, "SSE_POLL_CLOSE_AFTER": 30}  # no early close of its own
    with override_settings(MCP_SERVER=server):
        first, resumed = async_to_sync(scenario)()
    assert '"progress":1' in first.replace(" ", "")
    assert marks.read_text().split() == [str(n) for n in range(1, 9)]
    messages = [json.loads(e["data"]) for e in _fields(resumed) if e.get("data")]
    assert [m["params"]["progress"] for m in messages if m.get("method")] == list(range(2, 9))
    assert messages[-1]["id"] == 7
    assert messages[-1]["result"]["content"][0]["text"] == "counted to 8"
