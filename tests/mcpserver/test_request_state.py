"""Multi round-trip requests (2026-07-28): InputRequiredResult and the sealed requestState."""

import pytest

from tests.mcpserver.conftest import Endpoint

# Requests go through database_sync_to_async, which must not run inside a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)

CAPS: dict[str, dict] = {"elicitation": {}, "sampling": {}, "roots": {}}
ACCEPT = {"action": "accept", "content": {"ok": True}}


def _round_one(endpoint: Endpoint, key: str | None = None) -> dict:
    params = {"name": "test_input_required_result_request_state", "arguments": {}}
    response = endpoint.modern("tools/call", params, capabilities=CAPS)
    result = response.json()["result"]
    assert result["resultType"] == "input_required"
    assert set(result["inputRequests"]) == {"confirm"}
    return result


def _round_two(endpoint: Endpoint, state: str, **changes: object) -> dict:
    params = {
        "name": "test_input_required_result_request_state",
        "arguments": {},
        "inputResponses": {"confirm": ACCEPT},
        "requestState": state,
        **changes,
    }
    return endpoint.modern("tools/call", params, capabilities=CAPS).json()


def test_state_round_trips(endpoint: Endpoint) -> None:
    state = _round_one(endpoint)["requestState"]
    result = _round_two(endpoint, state)["result"]
    assert result["resultType"] == "complete"
    assert "state-ok" in result["content"][0]["text"]


def test_tampered_state_is_refused(endpoint: Endpoint) -> None:
    state = _round_one(endpoint)["requestState"]
    flipped = state[:-3] + ("A" if state[-3] != "A" else "B") + state[-2:]
    assert _round_two(endpoint, flipped)["error"]["code"] == -32602
    assert _round_two(endpoint, "rs1.")["error"]["code"] == -32602


def test_state_of_another_credential_is_refused(endpoint: Endpoint, other_key: str) -> None:
    state = _round_one(endpoint)["requestState"]
    thief = Endpoint(slug=endpoint.slug, key=other_key)
    assert _round_two(thief, state)["error"]["code"] == -32602


def test_state_for_other_arguments_is_refused(endpoint: Endpoint) -> None:
    state = _round_one(endpoint)["requestState"]
    response = _round_two(endpoint, state, arguments={"different": 1})
    assert response["error"]["code"] == -32602


def test_expired_state_is_refused(endpoint: Endpoint, settings) -> None:
    settings.MCP_SERVER = {**settings.MCP_SERVER, "REQUEST_STATE_TTL": -1}
    state = _round_one(endpoint)["requestState"]
    assert _round_two(endpoint, state)["error"]["code"] == -32602


def test_wrong_answers_are_asked_again(endpoint: Endpoint) -> None:
    params = {
        "name": "test_input_required_result_elicitation",
        "inputResponses": {"wrong_key": ACCEPT},
    }
    result = endpoint.modern("tools/call", params, capabilities=CAPS).json()["result"]
    assert result["resultType"] == "input_required"
    assert "user_name" in result["inputRequests"]


def test_input_needing_undeclared_capability_is_32021(endpoint: Endpoint) -> None:
    params = {"name": "test_input_required_result_elicitation"}
    response = endpoint.modern("tools/call", params, capabilities={})
    assert response.status == 400
    assert response.json()["error"]["code"] == -32021
