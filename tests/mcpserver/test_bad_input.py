"""Bad input, in both eras: the right JSON-RPC code and HTTP status, never a 500."""

import json

import pytest
from django.conf import settings
from django.test import override_settings

from mcpserver.conf import mcp_settings
from tests.mcpserver.conftest import MODERN, Endpoint, request

# Requests go through database_sync_to_async, which must not run inside a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)

ERA_HEADERS = {
    "modern": {"mcp-protocol-version": MODERN, "mcp-method": "tools/list"},
    "legacy": {},
}


@pytest.mark.parametrize("era", ["modern", "legacy"])
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, -32700),
        (b"\xff\xfe", 400, -32700),
        (b"[]", 400, -32600),
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', 400, -32600),
        (b'"a string"', 400, -32600),
        (b"42", 400, -32600),
        (b'{"id": 1, "method": "tools/list"}', 400, -32600),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "tools/list"}', 400, -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "method": 7}', 400, -32600),
        (b'{"jsonrpc": "2.0", "id": {"x": 1}, "method": "tools/list"}', 400, -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": [1]}', 400, -32600),
    ],
)
def test_malformed_bodies_get_jsonrpc_errors(
    endpoint: Endpoint, era: str, body: bytes, status: int, code: int
) -> None:
    response = request("POST", endpoint.path, body, endpoint.base_headers(**ERA_HEADERS[era]))
    assert response.status == status
    assert response.json()["error"]["code"] == code
    assert "Traceback" not in response.body.decode(errors="replace")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_is_415(endpoint: Endpoint, content_type: str) -> None:
    headers = endpoint.base_headers(**{"content-type": content_type})
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
    assert request("POST", endpoint.path, body, headers).status == 415


def test_oversized_body_is_413_without_reading_it(endpoint: Endpoint) -> None:
    with override_settings(MCP_SERVER={**settings.MCP_SERVER, "MAX_REQUEST_BYTES": 1000}):
        assert mcp_settings.MAX_REQUEST_BYTES == 1000
        big = b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": "' + b"a" * 5000
        headers = endpoint.base_headers(**{"content-length": str(len(big) + 2)})
        response = request("POST", endpoint.path, big + b'"}', headers)
    assert response.status == 413
    assert response.json()["error"]["code"] == -32600


def test_unknown_method_modern_is_404_with_32601(endpoint: Endpoint) -> None:
    response = endpoint.modern("no/such/method", ident=77)
    assert response.status == 404
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": 77,
        "error": {"code": -32601, "message": "Method not found: no/such/method"},
    }


def test_unknown_method_legacy_is_32601(endpoint: Endpoint) -> None:
    session = endpoint.initialize()
    response = endpoint.legacy(session, "no/such/method", ident=5)
    assert response.json()["error"]["code"] == -32601
    assert response.json()["id"] == 5


@pytest.mark.parametrize(
    "params",
    [
        {"name": 12},
        {"name": "no_such_tool"},
        {"name": "test_sampling", "arguments": {}},
        {"name": "test_sampling", "arguments": {"prompt": 3}},
        {"name": "whoami", "arguments": {"unexpected": True}},
        {"name": "whoami", "arguments": "not an object"},
        # Nested and referenced parts of a JSON Schema 2020-12 input schema are checked too.
        {"name": "json_schema_2020_12_tool", "arguments": {"address": {"street": 5}}},
        {"name": "json_schema_2020_12_tool", "arguments": {"address": "not an object"}},
        {"name": "json_schema_2020_12_tool", "arguments": {"name": "x", "extra": 1}},
    ],
)
def test_bad_tool_params_are_32602_in_both_eras(endpoint: Endpoint, params: dict) -> None:
    modern = endpoint.modern("tools/call", params)
    assert modern.status == 400
    assert modern.json()["error"]["code"] == -32602
    session = endpoint.initialize()
    legacy = endpoint.legacy(session, "tools/call", params)
    assert legacy.status == 200
    assert legacy.json()["error"]["code"] == -32602


def test_bad_argument_message_names_the_argument(endpoint: Endpoint) -> None:
    params = {
        "name": "json_schema_2020_12_tool",
        "arguments": {"address": {"street": 5}, "email": "a@example.com"},
    }
    error = endpoint.modern("tools/call", params).json()["error"]
    assert (
        error["message"] == "Invalid params: argument 'address/street': 5 is not of type 'string'"
    )
    good = {"address": {"street": "Main"}, "email": "a@example.com"}
    ok = endpoint.modern("tools/call", {**params, "arguments": good})
    assert ok.status == 200 and "error" not in ok.json()


def test_notifications_and_responses_are_accepted_with_202(endpoint: Endpoint) -> None:
    note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}
    headers = endpoint.base_headers(**ERA_HEADERS["modern"])
    assert request("POST", endpoint.path, json.dumps(note).encode(), headers).status == 202
    session = endpoint.initialize()
    answer = {"jsonrpc": "2.0", "id": "srv-unknown", "result": {}}
    response = endpoint.legacy_raw(session, answer)
    assert response.status == 202
    assert response.body == b""


def test_missing_credential_is_401_with_resource_metadata(endpoint: Endpoint) -> None:
    headers = endpoint.base_headers()
    del headers["authorization"]
    response = request("POST", endpoint.path, b"{}", headers)
    assert response.status == 401
    assert "resource_metadata=" in response.headers["www-authenticate"]


def test_foreign_origin_is_403(endpoint: Endpoint) -> None:
    headers = endpoint.base_headers(origin="http://evil.example.com")
    assert request("POST", endpoint.path, b"{}", headers).status == 403
