"""Property-based: whatever arrives in the body or headers, the endpoint never answers 500."""

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mcpserver.conftest import MODERN, Endpoint, request

# Requests go through database_sync_to_async, which must not run inside a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
methods = st.sampled_from(
    [
        "tools/list",
        "tools/call",
        "resources/read",
        "prompts/get",
        "server/discover",
        "initialize",
        "ping",
        "completion/complete",
        "logging/setLevel",
    ]
) | st.text(max_size=30)
messages = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "1.0", 2]), "method": methods},
    optional={
        "id": st.one_of(st.integers(), st.text(max_size=10), st.none(), st.booleans()),
        "params": json_values,
        "result": json_values,
    },
)
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


def _assert_sane(status: int, body: bytes) -> None:
    assert status < 500, body
    assert b"Traceback" not in body


@FUZZ
@given(body=st.binary(max_size=300))
def test_random_bytes(endpoint: Endpoint, body: bytes) -> None:
    response = request("POST", endpoint.path, body, endpoint.base_headers())
    _assert_sane(response.status, response.body)


@FUZZ
@given(message=messages, modern=st.booleans(), meta=st.booleans())
def test_random_messages(
    endpoint: Endpoint, message: dict[str, Any], modern: bool, meta: bool
) -> None:
    headers = endpoint.base_headers()
    if modern:
        headers.update({"mcp-protocol-version": MODERN, "mcp-method": str(message["method"])})
        if meta and isinstance(message.get("params"), dict):
            message["params"]["_meta"] = {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": {},
            }
    response = request("POST", endpoint.path, json.dumps(message).encode(), headers, timeout=5)
    _assert_sane(response.status, response.body)


@FUZZ
@given(
    version=header_values,
    method=header_values,
    name=header_values,
    session=header_values,
    accept=header_values,
    http_method=st.sampled_from(["POST", "GET", "DELETE", "PUT"]),
)
def test_random_headers(
    endpoint: Endpoint,
    version: str,
    method: str,
    name: str,
    session: str,
    accept: str,
    http_method: str,
) -> None:
    headers = endpoint.base_headers(
        **{
            "mcp-protocol-version": version,
            "mcp-method": method,
            "mcp-name": name,
            "mcp-session-id": session,
            "accept": accept,
        }
    )
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {
                "name": "whoami",
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": version,
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        }
    ).encode()
    response = request(http_method, endpoint.path, body, headers, timeout=5)
    _assert_sane(response.status, response.body)
