"""The ``conformance`` tool set: the fixture the official MCP conformance suite expects.

Names, arguments and returned content follow the suite's server scenarios exactly; a tenant
with this set enabled can be tested with ``conformance server --url .../mcp/<slug>``.
"""

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from mcpserver.eras import Era
from tools import events
from tools.context import ToolContext
from tools.errors import ToolError
from tools.registry import (
    Prompt,
    PromptArgument,
    Resource,
    ResourceTemplate,
    Tool,
    ToolSet,
    register,
)

# A 1x1 red PNG and a minimal WAV file, base64-encoded.
IMAGE_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAF"
    "BQIAX8jx0gAAAABJRU5ErkJggg=="
)
AUDIO_WAV = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
EMPTY_SCHEMA = {"type": "object", "properties": {}}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def _result(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"content": list(blocks)}


def _elicit(message: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "method": "elicitation/create",
        "params": {
            "message": message,
            "requestedSchema": {"type": "object", "properties": properties, "required": required},
        },
    }


def _sample(prompt: str, max_tokens: int) -> dict[str, Any]:
    return {
        "method": "sampling/createMessage",
        "params": {
            "messages": [{"role": "user", "content": text(prompt)}],
            "maxTokens": max_tokens,
        },
    }


ROOTS = {"method": "roots/list", "params": {}}


def _sampled_text(answer: Mapping[str, Any]) -> str:
    content = answer.get("content")
    if isinstance(content, Mapping):
        return str(content.get("text", ""))
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        return str(content[0].get("text", ""))
    return ""


def _accepted(answer: Mapping[str, Any]) -> Mapping[str, Any]:
    content = answer.get("content")
    return content if isinstance(content, Mapping) else {}


# ----- plain content --------------------------------------------------------------------


async def simple_text(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return _result(text("This is a simple text response for testing."))


async def image_content(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return _result({"type": "image", "data": IMAGE_PNG, "mimeType": "image/png"})


async def audio_content(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return _result({"type": "audio", "data": AUDIO_WAV, "mimeType": "audio/wav"})


async def embedded_resource(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return _result(
        {
            "type": "resource",
            "resource": {
                "uri": "test://embedded-resource",
                "mimeType": "text/plain",
                "text": "This is an embedded resource content.",
            },
        }
    )


async def multiple_content_types(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return _result(
        text("Multiple content types test:"),
        {"type": "image", "data": IMAGE_PNG, "mimeType": "image/png"},
        {
            "type": "resource",
            "resource": {
                "uri": "test://mixed-content-resource",
                "mimeType": "application/json",
                "text": json.dumps({"test": "data", "value": 123}),
            },
        },
    )


async def tool_with_logging(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    for step, message in enumerate(
        ("Tool execution started", "Tool processing data", "Tool execution completed")
    ):
        if step:
            await asyncio.sleep(0.05)
        await ctx.log("info", message)
    return _result(text("Tool with logging executed successfully"))


async def tool_with_progress(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    for step in (0, 50, 100):
        if step:
            await asyncio.sleep(0.05)
        await ctx.progress(step, 100, f"Completed step {step} of 100")
    return _result(text(str(ctx.progress_token if ctx.progress_token is not None else 0)))


async def error_handling(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    raise ToolError("This tool intentionally returns an error for testing")


async def json_schema_tool(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return _result(text(f"JSON Schema 2020-12 tool called with: {json.dumps(dict(args))}"))


async def reconnection(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(0.1)
    return _result(
        text(
            "Reconnection test completed successfully. If you received this, the client "
            "properly reconnected after stream closure."
        )
    )


# ----- server-to-client input (sampling, elicitation, roots) -----------------------------


async def sampling(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    answers = await ctx.request_input({"sample": _sample(str(args.get("prompt", "")), 100)})
    return _result(text(f"LLM response: {_sampled_text(answers['sample']) or 'No response'}"))


async def elicitation(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    request = _elicit(
        str(args.get("message", "")),
        {"response": {"type": "string", "description": "User's response"}},
        ["response"],
    )
    answer = (await ctx.request_input({"answer": request}))["answer"]
    return _result(
        text(
            f"User response: action={answer.get('action')}, "
            f"content={json.dumps(answer.get('content') or {})}"
        )
    )


SEP1034_PROPERTIES = {
    "name": {"type": "string", "description": "User name", "default": "John Doe"},
    "age": {"type": "integer", "description": "User age", "default": 30},
    "score": {"type": "number", "description": "User score", "default": 95.5},
    "status": {
        "type": "string",
        "description": "User status",
        "enum": ["active", "inactive", "pending"],
        "default": "active",
    },
    "verified": {"type": "boolean", "description": "Verification status", "default": True},
}

SEP1330_PROPERTIES = {
    "untitledSingle": {
        "type": "string",
        "description": "Select one option",
        "enum": ["option1", "option2", "option3"],
    },
    "titledSingle": {
        "type": "string",
        "description": "Select one option with titles",
        "oneOf": [
            {"const": "value1", "title": "First Option"},
            {"const": "value2", "title": "Second Option"},
            {"const": "value3", "title": "Third Option"},
        ],
    },
    "legacyEnum": {
        "type": "string",
        "description": "Select one option (legacy)",
        "enum": ["opt1", "opt2", "opt3"],
        "enumNames": ["Option One", "Option Two", "Option Three"],
    },
    "untitledMulti": {
        "type": "array",
        "description": "Select multiple options",
        "minItems": 1,
        "maxItems": 3,
        "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
    },
    "titledMulti": {
        "type": "array",
        "description": "Select multiple options with titles",
        "minItems": 1,
        "maxItems": 3,
        "items": {
            "anyOf": [
                {"const": "value1", "title": "First Choice"},
                {"const": "value2", "title": "Second Choice"},
                {"const": "value3", "title": "Third Choice"},
            ]
        },
    },
}


def _form_tool(message: str, properties: dict[str, Any]) -> Any:
    async def handler(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
        answer = (await ctx.request_input({"form": _elicit(message, properties, [])}))["form"]
        return _result(
            text(
                f"Elicitation completed: action={answer.get('action')}, "
                f"content={json.dumps(answer.get('content') or {})}"
            )
        )

    return handler


async def irr_elicitation(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    answers = await ctx.request_input(
        {"user_name": _elicit("What is your name?", {"name": {"type": "string"}}, ["name"])}
    )
    name = _accepted(answers["user_name"]).get("name", "")
    return _result(text(f"Hello, {name}!"))


async def irr_sampling(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    answers = await ctx.request_input(
        {"capital_question": _sample("What is the capital of France?", 100)}
    )
    return _result(text(f"Sampling response: {_sampled_text(answers['capital_question'])}"))


async def irr_list_roots(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    answers = await ctx.request_input({"client_roots": ROOTS})
    roots = answers["client_roots"].get("roots") or []
    uris = [str(r.get("uri")) for r in roots if isinstance(r, Mapping)]
    return _result(text(f"Client roots: {', '.join(uris) or 'none'}"))


async def irr_request_state(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    answers = await ctx.request_input(
        {"confirm": _elicit("Please confirm", {"ok": {"type": "boolean"}}, ["ok"])},
        state={"step": "confirm"},
    )
    if ctx.era is Era.STATELESS and ctx.state != {"step": "confirm"}:
        raise ToolError("requestState was missing or did not match")
    return _result(text(f"state-ok: confirmed={_accepted(answers['confirm']).get('ok')}"))


async def irr_multiple_inputs(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    answers = await ctx.request_input(
        {
            "user_name": _elicit("What is your name?", {"name": {"type": "string"}}, ["name"]),
            "greeting": _sample("Generate a greeting", 50),
            "client_roots": ROOTS,
        },
        state={"step": "all"},
    )
    name = _accepted(answers["user_name"]).get("name", "")
    greeting = _sampled_text(answers["greeting"])
    roots = len(answers["client_roots"].get("roots") or [])
    return _result(text(f"name={name}; greeting={greeting}; roots={roots}"))


async def irr_multi_round(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    state = ctx.state if isinstance(ctx.state, Mapping) else {}
    if ctx.era is Era.STATELESS and state.get("round") == 1:
        answers = ctx.input_responses or {}
        if isinstance(answers.get("step1"), Mapping):
            name = _accepted(answers["step1"]).get("name", "")
            state = {"round": 2, "name": name}
            ctx.input_responses = {k: v for k, v in answers.items() if k != "step1"}
    if ctx.era is not Era.STATELESS or state.get("round") != 2:
        first = await ctx.request_input(
            {
                "step1": _elicit(
                    "Step 1: What is your name?", {"name": {"type": "string"}}, ["name"]
                )
            },
            state={"round": 1},
        )
        state = {"round": 2, "name": _accepted(first["step1"]).get("name", "")}
    second = await ctx.request_input(
        {
            "step2": _elicit(
                "Step 2: What is your favorite color?", {"color": {"type": "string"}}, ["color"]
            )
        },
        state=state,
    )
    color = _accepted(second["step2"]).get("color", "")
    return _result(text(f"Hello {state.get('name', '')}, your favorite color is {color}."))


async def irr_tampered_state(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    await ctx.request_input(
        {"confirm": _elicit("Please confirm", {"ok": {"type": "boolean"}}, ["ok"])},
        state={"step": "tamper-check"},
    )
    return _result(text("state-ok"))


async def irr_capabilities(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    wanted: dict[str, dict[str, Any]] = {}
    if "sampling" in ctx.client_capabilities:
        wanted["sample"] = _sample("Say hello", 20)
    if "elicitation" in ctx.client_capabilities:
        wanted["ask"] = _elicit("Your name?", {"name": {"type": "string"}}, ["name"])
    if not wanted:
        return _result(text("No input capabilities declared."))
    answers = await ctx.request_input(wanted)
    return _result(text(f"Received {len(answers)} answer(s)."))


async def missing_capability(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    ctx.require_capability("sampling")
    return await sampling(ctx, {"prompt": "Hello"})


async def streaming_elicitation(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    await ctx.progress(0, 1, "asking")
    return await irr_elicitation(ctx, args)


async def logging_tool(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    await ctx.log("info", "Logging tool ran")
    await ctx.log("debug", "Logging tool debug detail")
    return _result(text("Logging tool executed"))


async def trigger_tool_change(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    await events.announce(ctx.principal.tenant_id, "notifications/tools/list_changed")
    return _result(text("Tool list change announced"))


async def trigger_prompt_change(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    await events.announce(ctx.principal.tenant_id, "notifications/prompts/list_changed")
    return _result(text("Prompt list change announced"))


JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
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
        _form_tool("Please review and update the form fields with defaults", SEP1034_PROPERTIES),
    ),
    _tool(
        "test_elicitation_sep1330_enums",
        "Tests elicitation with enum schema improvements per SEP-1330",
        _form_tool("Please select options from the enum fields", SEP1330_PROPERTIES),
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
)


# ----- resources -------------------------------------------------------------------------


def _static(uri: str, mime: str, **content: str) -> Any:
    async def read(ctx: ToolContext, requested: str) -> list[dict[str, Any]]:
        return [{"uri": uri, "mimeType": mime, **content}]

    return read


async def read_template(
    ctx: ToolContext, uri: str, variables: Mapping[str, str]
) -> list[dict[str, Any]]:
    ident = variables.get("id", "")
    body = {"id": ident, "templateTest": True, "data": f"Data for ID: {ident}"}
    return [{"uri": uri, "mimeType": "application/json", "text": json.dumps(body)}]


RESOURCES = (
    Resource(
        uri="test://static-text",
        name="static-text",
        title="Static Text Resource",
        description="A static text resource for testing",
        mime_type="text/plain",
        handler=_static(
            "test://static-text",
            "text/plain",
            text="This is the content of the static text resource.",
        ),
    ),
    Resource(
        uri="test://static-binary",
        name="static-binary",
        title="Static Binary Resource",
        description="A static binary resource (image) for testing",
        mime_type="image/png",
        handler=_static("test://static-binary", "image/png", blob=IMAGE_PNG),
    ),
    Resource(
        uri="test://watched-resource",
        name="watched-resource",
        title="Watched Resource",
        description="A resource clients can subscribe to",
        mime_type="text/plain",
        handler=_static("test://watched-resource", "text/plain", text="Watched resource content"),
    ),
)

TEMPLATES = (
    ResourceTemplate(
        uri_template="test://template/{id}/data",
        name="template",
        title="Resource Template",
        description="A resource template with parameter substitution",
        mime_type="application/json",
        handler=read_template,
    ),
)


# ----- prompts ---------------------------------------------------------------------------


async def simple_prompt(ctx: ToolContext, args: Mapping[str, str]) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text("This is a simple prompt for testing.")}]}


async def prompt_with_arguments(ctx: ToolContext, args: Mapping[str, str]) -> dict[str, Any]:
    message = f"Prompt with arguments: arg1='{args.get('arg1', '')}', arg2='{args.get('arg2', '')}'"
    return {"messages": [{"role": "user", "content": text(message)}]}


async def prompt_with_embedded_resource(
    ctx: ToolContext, args: Mapping[str, str]
) -> dict[str, Any]:
    resource = {
        "uri": args.get("resourceUri", "test://example-resource"),
        "mimeType": "text/plain",
        "text": "Embedded resource content for testing.",
    }
    return {
        "messages": [
            {"role": "user", "content": {"type": "resource", "resource": resource}},
            {"role": "user", "content": text("Please process the embedded resource above.")},
        ]
    }


async def prompt_with_image(ctx: ToolContext, args: Mapping[str, str]) -> dict[str, Any]:
    return {
        "messages": [
            {
                "role": "user",
                "content": {"type": "image", "data": IMAGE_PNG, "mimeType": "image/png"},
            },
            {"role": "user", "content": text("Please analyze the image above.")},
        ]
    }


async def input_required_prompt(ctx: ToolContext, args: Mapping[str, str]) -> dict[str, Any]:
    answers = await ctx.request_input(
        {
            "user_context": _elicit(
                "What context should the prompt use?", {"context": {"type": "string"}}, ["context"]
            )
        }
    )
    context = _accepted(answers["user_context"]).get("context", "")
    return {"messages": [{"role": "user", "content": text(f"Use this context: {context}")}]}


PROMPTS = (
    Prompt(
        name="test_simple_prompt",
        title="Simple Test Prompt",
        description="A simple prompt without arguments",
        handler=simple_prompt,
    ),
    Prompt(
        name="test_prompt_with_arguments",
        title="Prompt With Arguments",
        description="A prompt with required arguments",
        handler=prompt_with_arguments,
        arguments=(
            PromptArgument("arg1", "First test argument", required=True),
            PromptArgument("arg2", "Second test argument", required=True),
        ),
    ),
    Prompt(
        name="test_prompt_with_embedded_resource",
        title="Prompt With Embedded Resource",
        description="A prompt that includes an embedded resource",
        handler=prompt_with_embedded_resource,
        arguments=(PromptArgument("resourceUri", "URI of the resource to embed", required=True),),
    ),
    Prompt(
        name="test_prompt_with_image",
        title="Prompt With Image",
        description="A prompt that includes image content",
        handler=prompt_with_image,
    ),
    Prompt(
        name="test_input_required_result_prompt",
        title="Prompt Needing Input",
        description="A prompt that asks the client for context first",
        handler=input_required_prompt,
    ),
)

CONFORMANCE = register(
    ToolSet(
        name="conformance",
        tools=TOOLS,
        resources=RESOURCES,
        templates=TEMPLATES,
        prompts=PROMPTS,
        instructions="Test fixture for the MCP conformance suite.",
    )
)
