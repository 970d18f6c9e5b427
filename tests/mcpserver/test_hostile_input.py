"""Hostile input gets a clear JSON-RPC error and leaves no ERROR line in the log.

Each of these once answered 200 with -32603 and a traceback (RecursionError, OverflowError,
UnicodeEncodeError), or let one session grow without bound in the shared store.
"""

import base64
import json
import logging

import pytest

from mcpserver.conf import mcp_settings
from sessions_store.store import get_store
from tests.mcpserver.conftest import MODERN, Endpoint, request

pytestmark = pytest.mark.django_db(transaction=True)

MODERN_HEADERS = {"mcp-protocol-version": MODERN, "mcp-method": "tools/list"}


@pytest.fixture(autouse=True)
def no_error_logged(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def _meta() -> dict:
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
    }


@pytest.mark.parametrize("era", ["modern", "legacy"])
def test_deeply_nested_body_is_32600(endpoint: Endpoint, era: str) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    headers = endpoint.base_headers(**(MODERN_HEADERS if era == "modern" else {}))
    response = request("POST", endpoint.path, body, headers)
    assert response.status == 400
    assert response.json()["error"]["code"] == -32600


def test_nesting_inside_a_request_object_is_32600(endpoint: Endpoint) -> None:
    nested = '{"a":' * 990 + '"leaf"' + "}" * 990
    params = '{"name":"whoami","arguments":{"x":' + nested + '},"_meta":' + json.dumps(_meta())
    body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":' + params + "}}"
    headers = endpoint.base_headers(
        **{"mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "whoami"}
    )
    response = request("POST", endpoint.path, body.encode(), headers)
    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == -32600 and "nested too deeply" in error["message"]


def test_nesting_within_the_limit_still_reaches_the_tool(endpoint: Endpoint) -> None:
    params = {
        "name": "json_schema_2020_12_tool",
        "arguments": {"address": {"street": "Main"}, "email": "a@example.com"},
    }
    assert endpoint.modern("tools/call", params).status == 200


@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(b'{"o":1e999}').decode(),
        base64.urlsafe_b64encode(b'{"o":-1}').decode(),
        base64.urlsafe_b64encode(b'{"o":true}').decode(),
        base64.urlsafe_b64encode(b"[1]").decode(),
        base64.urlsafe_b64encode(b'{"o":1.5}').decode(),
        "%%%",
    ],
)
def test_bad_cursor_is_32602(endpoint: Endpoint, cursor: str) -> None:
    response = endpoint.modern("tools/list", {"cursor": cursor})
    assert response.status == 400
    assert response.json()["error"] == {"code": -32602, "message": "Invalid cursor"}


@pytest.mark.parametrize("era", ["modern", "legacy"])
def test_lone_surrogate_id_is_answered_with_it(endpoint: Endpoint, era: str) -> None:
    if era == "modern":
        body = (
            '{"jsonrpc":"2.0","id":"\\ud800","method":"tools/list","params":{"_meta":'
            + json.dumps(_meta())
            + "}}"
        )
        headers = endpoint.base_headers(**MODERN_HEADERS)
    else:
        session = endpoint.initialize()
        body = '{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}'
        headers = endpoint.base_headers(**{"mcp-session-id": session})
    response = request("POST", endpoint.path, body.encode(), headers)
    assert response.status == 200
    assert response.json()["id"] == "\ud800"
    assert "result" in response.json()


def test_subscriptions_are_bounded_and_unknown_resources_refused(endpoint: Endpoint) -> None:
    session = endpoint.initialize()
    huge = "test://" + "x" * 900_000
    refused = endpoint.legacy(session, "resources/subscribe", {"uri": huge})
    assert refused.json()["error"]["code"] == -32602
    unknown = endpoint.legacy(session, "resources/subscribe", {"uri": "test://no-such-resource"})
    assert unknown.json()["error"]["code"] == -32602
    known = endpoint.legacy(session, "resources/subscribe", {"uri": "test://static-text"})
    assert known.json()["result"] == {}
    state = get_store().get_json(f"mcp:session:{_tenant_id(endpoint)}:{session}")
    assert isinstance(state, dict)
    assert state["subscriptions"] == ["test://static-text"]
    assert len(json.dumps(state)) < 2000


def test_a_session_holds_at_most_max_subscriptions(endpoint: Endpoint, settings) -> None:
    settings.MCP_SERVER = {**settings.MCP_SERVER, "MAX_SUBSCRIPTIONS": 1}
    assert mcp_settings.MAX_SUBSCRIPTIONS == 1
    session = endpoint.initialize()
    assert (
        "result"
        in endpoint.legacy(session, "resources/subscribe", {"uri": "test://static-text"}).json()
    )
    second = endpoint.legacy(session, "resources/subscribe", {"uri": "test://static-binary"})
    assert second.json()["error"]["code"] == -32602
    again = endpoint.legacy(session, "resources/subscribe", {"uri": "test://static-text"})
    assert "result" in again.json()  # the same URI again is not a new subscription


def _tenant_id(endpoint: Endpoint) -> int:
    from tenants.models import Tenant

    return Tenant.objects.get(slug=endpoint.slug).pk
