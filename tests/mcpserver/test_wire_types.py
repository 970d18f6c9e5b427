"""Every answer has the shape the official wire types (``mcp-types``) give it, in both eras.

The endpoint builds plain dicts on its hot path (validating each tools/call with the pydantic
wire models costs about 6 µs, some 5% of a request here); these tests hold the dicts to the
official models instead.
"""

from typing import Any

import mcp_types as wire
import pytest

from tests.mcpserver.conftest import Endpoint

pytestmark = pytest.mark.django_db(transaction=True)

CAPS: dict[str, dict] = {"elicitation": {}, "sampling": {}, "roots": {}}
CALLS: list[tuple[str, dict[str, Any], type]] = [
    ("tools/list", {}, wire.ListToolsResult),
    ("tools/call", {"name": "whoami", "arguments": {}}, wire.CallToolResult),
    ("tools/call", {"name": "test_multiple_content_types"}, wire.CallToolResult),
    ("tools/call", {"name": "test_error_handling"}, wire.CallToolResult),
    ("resources/list", {}, wire.ListResourcesResult),
    ("resources/templates/list", {}, wire.ListResourceTemplatesResult),
    ("resources/read", {"uri": "test://static-binary"}, wire.ReadResourceResult),
    ("resources/read", {"uri": "test://template/7/data"}, wire.ReadResourceResult),
    ("prompts/list", {}, wire.ListPromptsResult),
    (
        "prompts/get",
        {"name": "test_prompt_with_embedded_resource", "arguments": {"resourceUri": "test://x"}},
        wire.GetPromptResult,
    ),
    (
        "completion/complete",
        {"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a", "value": "b"}},
        wire.CompleteResult,
    ),
]


@pytest.mark.parametrize(("method", "params", "model"), CALLS, ids=[c[0] for c in CALLS])
def test_modern_results_match_the_wire_types(
    endpoint: Endpoint, method: str, params: dict, model: type
) -> None:
    result = endpoint.modern(method, params).json()["result"]
    model.model_validate(result)  # type: ignore[attr-defined]
    assert result["resultType"] == "complete"


@pytest.mark.parametrize(("method", "params", "model"), CALLS, ids=[c[0] for c in CALLS])
def test_legacy_results_match_the_wire_types(
    endpoint: Endpoint, method: str, params: dict, model: type
) -> None:
    session = endpoint.initialize()
    result = endpoint.legacy(session, method, params).json()["result"]
    model.model_validate(result)  # type: ignore[attr-defined]


def test_discover_initialize_and_input_required_match_the_wire_types(endpoint: Endpoint) -> None:
    wire.DiscoverResult.model_validate(endpoint.modern("server/discover").json()["result"])
    params = {"name": "test_input_required_result_multiple_inputs"}
    irr = endpoint.modern("tools/call", params, capabilities=CAPS).json()["result"]
    wire.InputRequiredResult.model_validate(irr)
    assert set(irr["inputRequests"]) == {"user_name", "greeting", "client_roots"}


def test_errors_match_the_wire_types(endpoint: Endpoint) -> None:
    for response in (
        endpoint.modern("tools/call", {"name": "nope"}),
        endpoint.modern("no/such"),
        endpoint.modern("tools/call", {"name": "test_missing_capability"}),
    ):
        wire.JSONRPCError.model_validate(response.json())
