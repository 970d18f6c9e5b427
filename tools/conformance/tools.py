"""The conformance tool set's tools, with the names and schemas the suite expects."""

from typing import Any

from tools.conformance.asking import (
    SEP1034_PROPERTIES,
    SEP1330_PROPERTIES,
    elicitation,
    form_tool,
    irr_capabilities,
    irr_elicitation,
    irr_list_roots,
    irr_multi_round,
    irr_multiple_inputs,
    irr_request_state,
    irr_sampling,
    irr_tampered_state,
    logging_tool,
    missing_capability,
    sampling,
    streaming_elicitation,
    trigger_prompt_change,
    trigger_tool_change,
)
from tools.conformance.common import EMPTY_SCHEMA
from tools.conformance.plain import (
    audio_content,
    custom_header,
    embedded_resource,
    error_handling,
    image_content,
    json_schema_tool,
    multiple_content_types,
    reconnection,
    simple_text,
    tool_with_logging,
    tool_with_progress,
)
from tools.conformance.tasks import TASK_TOOLS
from tools.registry import (
    Tool,
)

# What SEP-1613/SEP-2106 expect to survive untouched from registration to tools/list: $defs
# with an $anchor, $ref, composition (allOf/anyOf), conditionals (if/then/else) and
# additionalProperties.
JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string", "format": "email"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


def _tool(name: str, description: str, handler: Any, **kwargs: Any) -> Tool:
    kwargs.setdefault("input_schema", EMPTY_SCHEMA)
    return Tool(name=name, description=description, handler=handler, **kwargs)


def _string_args(**described: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {k: {"type": "string", "description": v} for k, v in described.items()},
        "required": list(described),
    }


TOOLS = (
    _tool("test_simple_text", "Tests simple text content response", simple_text),
    _tool("test_image_content", "Tests image content response", image_content),
    _tool("test_audio_content", "Tests audio content response", audio_content),
    _tool("test_embedded_resource", "Tests embedded resource content response", embedded_resource),
    _tool(
        "test_multiple_content_types",
        "Tests response with multiple content types (text, image, resource)",
        multiple_content_types,
    ),
    _tool(
        "test_tool_with_logging",
        "Tests tool that emits log messages during execution",
        tool_with_logging,
    ),
    _tool(
        "test_tool_with_progress",
        "Tests tool that reports progress notifications",
        tool_with_progress,
    ),
    _tool("test_error_handling", "Tests error response handling", error_handling),
    _tool(
        "test_reconnection",
        "Tests SSE stream disconnection and client reconnection",
        reconnection,
    ),
    _tool(
        "test_sampling",
        "Tests server-initiated sampling (LLM completion request)",
        sampling,
        input_schema=_string_args(prompt="The prompt to send to the LLM"),
    ),
    _tool(
        "test_elicitation",
        "Tests server-initiated elicitation (user input request)",
        elicitation,
        input_schema=_string_args(message="The message to show the user"),
    ),
    _tool(
        "test_elicitation_sep1034_defaults",
        "Tests elicitation with default values per SEP-1034",
        form_tool("Please review and update the form fields with defaults", SEP1034_PROPERTIES),
    ),
    _tool(
        "test_elicitation_sep1330_enums",
        "Tests elicitation with enum schema improvements per SEP-1330",
        form_tool("Please select options from the enum fields", SEP1330_PROPERTIES),
    ),
    _tool(
        "json_schema_2020_12_tool",
        "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
        json_schema_tool,
        input_schema=JSON_SCHEMA_2020_12,
    ),
    _tool(
        "test_missing_capability",
        "Needs the client's sampling capability; refused with -32021 without it",
        missing_capability,
    ),
    _tool(
        "test_streaming_elicitation",
        "Reports progress, then asks the client for input",
        streaming_elicitation,
    ),
    _tool("test_logging_tool", "Logs at info and debug levels", logging_tool),
    _tool("test_trigger_tool_change", "Announces a tool list change", trigger_tool_change),
    _tool("test_trigger_prompt_change", "Announces a prompt list change", trigger_prompt_change),
    _tool(
        "test_input_required_result_elicitation",
        "Asks the client for a name (one elicitation round trip)",
        irr_elicitation,
    ),
    _tool(
        "test_input_required_result_sampling",
        "Asks the client's model a question (one sampling round trip)",
        irr_sampling,
    ),
    _tool(
        "test_input_required_result_list_roots",
        "Asks the client for its roots",
        irr_list_roots,
    ),
    _tool(
        "test_input_required_result_request_state",
        "One elicitation round trip that carries request state",
        irr_request_state,
    ),
    _tool(
        "test_input_required_result_multiple_inputs",
        "Asks for elicitation, sampling and roots at once",
        irr_multiple_inputs,
    ),
    _tool(
        "test_input_required_result_multi_round",
        "Two elicitation rounds with evolving request state",
        irr_multi_round,
    ),
    _tool(
        "test_input_required_result_tampered_state",
        "Refuses a request state that was changed by the client",
        irr_tampered_state,
    ),
    _tool(
        "test_input_required_result_capabilities",
        "Asks only for input the client declared it can give",
        irr_capabilities,
    ),
    _tool(
        "test_custom_header",
        "Takes a region that also travels in the Mcp-Param-Region header (SEP-2243)",
        custom_header,
        input_schema={
            "type": "object",
            "properties": {
                "region": {
                    "type": "string",
                    "description": "Where to route the call",
                    "x-mcp-header": "Region",
                }
            },
            "required": ["region"],
        },
    ),
    *TASK_TOOLS,
)
