"""Tools that ask the client for input: sampling, elicitation, roots, in both eras."""

import json
from collections.abc import Mapping
from typing import Any

from mcpserver.eras import Era
from tools import events
from tools.conformance.common import ROOTS, accepted, elicit, result, sample, sampled_text, text
from tools.context import ToolContext
from tools.errors import ToolError

# ----- server-to-client input (sampling, elicitation, roots) -----------------------------


async def sampling(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    answers = await ctx.request_input({"sample": sample(str(args.get("prompt", "")), 100)})
    return result(text(f"LLM response: {sampled_text(answers['sample']) or 'No response'}"))


async def elicitation(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    request = elicit(
        str(args.get("message", "")),
        {"response": {"type": "string", "description": "User's response"}},
        ["response"],
    )
    answer = (await ctx.request_input({"answer": request}))["answer"]
    return result(
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


def form_tool(message: str, properties: dict[str, Any]) -> Any:
    async def handler(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
        answer = (await ctx.request_input({"form": elicit(message, properties, [])}))["form"]
        return result(
            text(
                f"Elicitation completed: action={answer.get('action')}, "
                f"content={json.dumps(answer.get('content') or {})}"
            )
        )

    return handler


async def irr_elicitation(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    answers = await ctx.request_input(
        {"user_name": elicit("What is your name?", {"name": {"type": "string"}}, ["name"])}
    )
    name = accepted(answers["user_name"]).get("name", "")
    return result(text(f"Hello, {name}!"))


async def irr_sampling(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    answers = await ctx.request_input(
        {"capital_question": sample("What is the capital of France?", 100)}
    )
    return result(text(f"Sampling response: {sampled_text(answers['capital_question'])}"))


async def irr_list_roots(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    answers = await ctx.request_input({"client_roots": ROOTS})
    roots = answers["client_roots"].get("roots") or []
    uris = [str(r.get("uri")) for r in roots if isinstance(r, Mapping)]
    return result(text(f"Client roots: {', '.join(uris) or 'none'}"))


async def irr_request_state(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    answers = await ctx.request_input(
        {"confirm": elicit("Please confirm", {"ok": {"type": "boolean"}}, ["ok"])},
        state={"step": "confirm"},
    )
    if ctx.era is Era.STATELESS and ctx.state != {"step": "confirm"}:
        raise ToolError("requestState was missing or did not match")
    return result(text(f"state-ok: confirmed={accepted(answers['confirm']).get('ok')}"))


async def irr_multiple_inputs(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    answers = await ctx.request_input(
        {
            "user_name": elicit("What is your name?", {"name": {"type": "string"}}, ["name"]),
            "greeting": sample("Generate a greeting", 50),
            "client_roots": ROOTS,
        },
        state={"step": "all"},
    )
    name = accepted(answers["user_name"]).get("name", "")
    greeting = sampled_text(answers["greeting"])
    roots = len(answers["client_roots"].get("roots") or [])
    return result(text(f"name={name}; greeting={greeting}; roots={roots}"))


async def irr_multi_round(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    state = ctx.state if isinstance(ctx.state, Mapping) else {}
    if ctx.era is Era.STATELESS and state.get("round") == 1:
        answers = ctx.input_responses or {}
        if isinstance(answers.get("step1"), Mapping):
            name = accepted(answers["step1"]).get("name", "")
            state = {"round": 2, "name": name}
            ctx.input_responses = {k: v for k, v in answers.items() if k != "step1"}
    if ctx.era is not Era.STATELESS or state.get("round") != 2:
        first = await ctx.request_input(
            {"step1": elicit("Step 1: What is your name?", {"name": {"type": "string"}}, ["name"])},
            state={"round": 1},
        )
        state = {"round": 2, "name": accepted(first["step1"]).get("name", "")}
    second = await ctx.request_input(
        {
            "step2": elicit(
                "Step 2: What is your favorite color?", {"color": {"type": "string"}}, ["color"]
            )
        },
        state=state,
    )
    color = accepted(second["step2"]).get("color", "")
    return result(text(f"Hello {state.get('name', '')}, your favorite color is {color}."))


async def irr_tampered_state(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    await ctx.request_input(
        {"confirm": elicit("Please confirm", {"ok": {"type": "boolean"}}, ["ok"])},
        state={"step": "tamper-check"},
    )
    return result(text("state-ok"))


async def irr_capabilities(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    wanted: dict[str, dict[str, Any]] = {}
    if "sampling" in ctx.client_capabilities:
        wanted["sample"] = sample("Say hello", 20)
    if "elicitation" in ctx.client_capabilities:
        wanted["ask"] = elicit("Your name?", {"name": {"type": "string"}}, ["name"])
    if not wanted:
        return result(text("No input capabilities declared."))
    answers = await ctx.request_input(wanted)
    return result(text(f"Received {len(answers)} answer(s)."))


async def missing_capability(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    ctx.require_capability("sampling")
    return await sampling(ctx, {"prompt": "Hello"})


async def streaming_elicitation(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    await ctx.progress(0, 1, "asking")
    return await irr_elicitation(ctx, args)


async def logging_tool(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    await ctx.log("info", "Logging tool ran")
    await ctx.log("debug", "Logging tool debug detail")
    return result(text("Logging tool executed"))


async def trigger_tool_change(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    await events.announce(ctx.principal.tenant_id, "notifications/tools/list_changed")
    return result(text("Tool list change announced"))


async def trigger_prompt_change(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    await events.announce(ctx.principal.tenant_id, "notifications/prompts/list_changed")
    return result(text("Prompt list change announced"))
