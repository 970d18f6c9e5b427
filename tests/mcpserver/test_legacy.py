"""The 2025-11-25 (stateful) era over HTTP: sessions, streams, server-to-client requests."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator

from tests.mcpserver.conftest import LEGACY, Endpoint, _application, request

# Requests go through database_sync_to_async, which must not run inside a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def test_initialize_issues_a_visible_ascii_session_id(endpoint: Endpoint) -> None:
    session = endpoint.initialize()
    assert 20 <= len(session) <= 128
    assert all(0x21 <= ord(c) <= 0x7E for c in session)


def test_initialize_answers_a_supported_version(endpoint: Endpoint) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "1999-01-01", "capabilities": {}, "clientInfo": {}},
    }
    response = request("POST", endpoint.path, json.dumps(body).encode(), endpoint.base_headers())
    assert response.json()["result"]["protocolVersion"] == LEGACY


def test_ping_tools_and_delete(endpoint: Endpoint) -> None:
    session = endpoint.initialize()
    assert endpoint.legacy(session, "ping").json()["result"] == {}
    names = [t["name"] for t in endpoint.legacy(session, "tools/list").json()["result"]["tools"]]
    assert "whoami" in names
    assert "resultType" not in endpoint.legacy(session, "tools/list").json()["result"]
    headers = endpoint.base_headers(**{"mcp-session-id": session})
    assert request("DELETE", endpoint.path, b"", headers).status == 204
    assert endpoint.legacy(session, "ping").status == 404


def test_missing_session_is_400_and_unknown_is_404(endpoint: Endpoint) -> None:
    assert endpoint.legacy_raw(None, {"jsonrpc": "2.0", "id": 1, "method": "ping"}).status == 400
    assert endpoint.legacy("no-such-session", "ping").status == 404


def test_session_is_bound_to_its_credential(endpoint: Endpoint, other_key: str) -> None:
    session = endpoint.initialize()
    other = Endpoint(slug=endpoint.slug, key=other_key)
    assert other.legacy(session, "ping").status == 404


def test_invalid_protocol_version_header_is_400(endpoint: Endpoint) -> None:
    session = endpoint.initialize()
    message = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    response = endpoint.legacy_raw(session, message, {"mcp-protocol-version": "bogus"})
    assert response.status == 400


def test_log_level_is_kept_in_the_session(endpoint: Endpoint) -> None:
    session = endpoint.initialize()
    quiet = endpoint.legacy(session, "tools/call", {"name": "test_tool_with_logging"})
    assert quiet.headers["content-type"] == "application/json"
    assert endpoint.legacy(session, "logging/setLevel", {"level": "info"}).status == 200
    loud = endpoint.legacy(session, "tools/call", {"name": "test_tool_with_logging"})
    assert [e.get("method") for e in loud.events()][:3] == ["notifications/message"] * 3


def test_stream_events_carry_ids_and_replay_after_last_event_id(endpoint: Endpoint) -> None:
    session = endpoint.initialize()
    endpoint.legacy(session, "logging/setLevel", {"level": "info"})
    response = endpoint.legacy(session, "tools/call", {"name": "test_tool_with_logging"})
    ids = [line[4:] for line in response.body.decode().splitlines() if line.startswith("id: ")]
    # A priming event (id, no data), three log messages, the answer.
    assert len(ids) == 5 and len(set(ids)) == 5
    assert response.body.decode().startswith(f"id: {ids[0]}\ndata: \n\n")
    ids = ids[1:]
    headers = endpoint.base_headers(**{"mcp-session-id": session, "last-event-id": ids[1]})

    async def replay() -> bytes:
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        communicator = HttpCommunicator(_application(), "GET", endpoint.path, b"", raw)
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(2)
        assert start["status"] == 200
        chunks = b""
        while chunks.count(b"\n\n") < 2:
            chunks += (await communicator.receive_output(2))["body"]
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(2)
        return chunks

    replayed = async_to_sync(replay)().decode()
    assert f"id: {ids[2]}" in replayed and f"id: {ids[3]}" in replayed
    assert f"id: {ids[1]}" not in replayed


def test_sampling_answer_arrives_on_a_separate_request(endpoint: Endpoint) -> None:
    session = endpoint.initialize(capabilities={"sampling": {}})

    async def scenario() -> dict:
        app = _application()
        call = {
            "jsonrpc": "2.0",
            "id": 9,
            "method": "tools/call",
            "params": {"name": "test_sampling", "arguments": {"prompt": "Capital of France?"}},
        }
        headers = [
            (k.encode(), v.encode())
            for k, v in endpoint.base_headers(**{"mcp-session-id": session}).items()
        ]
        stream = HttpCommunicator(app, "POST", endpoint.path, json.dumps(call).encode(), headers)
        await stream.send_input({"type": "http.request", "body": json.dumps(call).encode()})
        start = await stream.receive_output(3)
        assert start["status"] == 200
        priming = (await stream.receive_output(3))["body"].decode()
        assert priming.startswith("id: ") and priming.endswith("data: \n\n")
        first = (await stream.receive_output(3))["body"].decode()
        asked = json.loads(first.split("data: ", 1)[1])
        assert asked["method"] == "sampling/createMessage"
        answer = {
            "jsonrpc": "2.0",
            "id": asked["id"],
            "result": {
                "role": "assistant",
                "content": {"type": "text", "text": "Paris"},
                "model": "m",
            },
        }
        relay = HttpCommunicator(app, "POST", endpoint.path, json.dumps(answer).encode(), headers)
        assert (await relay.get_response(3))["status"] == 202
        await relay.send_input({"type": "http.disconnect"})
        final = (await stream.receive_output(3))["body"].decode()
        await stream.send_input({"type": "http.disconnect"})
        await stream.wait(3)
        await asyncio.sleep(0)
        return json.loads(final.split("data: ", 1)[1])

    result = async_to_sync(scenario)()
    assert result["result"]["content"][0]["text"] == "LLM response: Paris"


def test_get_stream_carries_list_changed_notifications(endpoint: Endpoint) -> None:
    from tests.mcpserver.conftest import arequest

    session = endpoint.initialize()
    headers = endpoint.base_headers(**{"mcp-session-id": session, "mcp-protocol-version": LEGACY})

    async def scenario() -> dict:
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        stream = HttpCommunicator(_application(), "GET", endpoint.path, b"", raw)
        await stream.send_input({"type": "http.request", "body": b""})
        start = await stream.receive_output(3)
        assert start["status"] == 200
        assert dict(start["headers"])[b"content-type"] == b"text/event-stream"
        call = {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {"name": "test_trigger_tool_change"},
        }
        done = await arequest("POST", endpoint.path, json.dumps(call).encode(), headers)
        assert done.status == 200
        frame = ""
        while "data: " not in frame:  # the stream opens with an empty chunk (headers out)
            frame += (await stream.receive_output(3))["body"].decode()
        await stream.send_input({"type": "http.disconnect"})
        await stream.wait(3)
        return json.loads(frame.split("data: ", 1)[1])

    assert async_to_sync(scenario)()["method"] == "notifications/tools/list_changed"


@pytest.mark.parametrize("delay", [0.0, 0.3], ids=["before-registration", "after-registration"])
def test_cancelled_notification_stops_a_running_request(endpoint: Endpoint, delay: float) -> None:
    """notifications/cancelled, sent on a separate POST, stops the request; it gets no answer."""
    session = endpoint.initialize(capabilities={"sampling": {}})

    async def scenario() -> list[dict]:
        app = _application()
        headers = [
            (k.encode(), v.encode())
            for k, v in endpoint.base_headers(**{"mcp-session-id": session}).items()
        ]
        call = {
            "jsonrpc": "2.0",
            "id": "call-7",
            "method": "tools/call",
            "params": {"name": "test_sampling", "arguments": {"prompt": "Never answered"}},
        }
        body = json.dumps(call).encode()
        stream = HttpCommunicator(app, "POST", endpoint.path, body, headers)
        await stream.send_input({"type": "http.request", "body": body})
        assert (await stream.receive_output(3))["status"] == 200
        await stream.receive_output(3)  # priming event
        await stream.receive_output(3)  # the sampling request the client will never answer
        await asyncio.sleep(delay)
        cancel = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": "call-7", "reason": "user pressed stop"},
        }
        relay = HttpCommunicator(app, "POST", endpoint.path, json.dumps(cancel).encode(), headers)
        assert (await relay.get_response(3))["status"] == 202
        rest = []
        while True:
            chunk = await stream.receive_output(3)
            rest.append(chunk)
            if not chunk.get("more_body"):
                break
        await stream.wait(3)
        return rest

    rest = async_to_sync(scenario)()
    # The stream ends without a response to the cancelled request, well before the
    # sampling request's own timeout.
    assert rest == [{"type": "http.response.body", "body": b"", "more_body": False}]


def test_cancelling_an_unknown_or_finished_request_is_harmless(endpoint: Endpoint) -> None:
    session = endpoint.initialize()
    assert endpoint.legacy(session, "tools/call", {"name": "whoami"}, ident=3).status == 200
    for params in ({"requestId": 3}, {"requestId": "nope"}, {"requestId": [1]}, {}):
        note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params}
        assert endpoint.legacy_raw(session, note).status == 202
    assert endpoint.legacy(session, "ping", ident=4).status == 200
