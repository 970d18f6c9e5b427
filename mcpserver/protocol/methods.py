"""The MCP methods: one coroutine each, from a ``Call`` to a result dict.

Scopes are decided by ``tenants.auth.authorization.authorize`` before a tool runs, a resource
is read or a prompt is got; tool failures become results with ``isError: true``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from jsonschema.exceptions import best_match

from mcpserver.conf import mcp_settings
from mcpserver.eras import (
    LATEST_SESSION_VERSION,
    SERVER_INFO,
    SESSION_VERSIONS,
    SUPPORTED_VERSIONS,
    Era,
)
from mcpserver.errors import (
    DatabaseUnreachable,
    InvalidParams,
    McpError,
    ResourceNotFound,
    ToolError,
)
from mcpserver.protocol import call_audit, request_state, tasks
from mcpserver.protocol.call import Call
from mcpserver.protocol.translator import tool_failure
from tenants.auth.authorization import authorize
from tenants.auth.outage import OUTAGE_ERRORS, note
from tools.context import LOG_LEVELS, InputRequired, ToolContext
from tools.registry import ResourceTemplate, Tool


def capabilities(era: Era = Era.SESSION) -> dict[str, Any]:
    """What the server offers; the extensions only where they work (2026-07-28)."""
    offered: dict[str, Any] = {
        "tools": {"listChanged": True},
        "resources": {"listChanged": True, "subscribe": True},
        "prompts": {"listChanged": True},
        "completions": {},
        "logging": {},
    }
    if era is Era.STATELESS:
        offered["extensions"] = {tasks.EXTENSION: {}}
    return offered


async def _authorize(call: Call, needed: frozenset[str]) -> None:
    if not needed:  # most tools need no scope: no coroutine to run
        return
    await authorize(
        tenant=call.tenant, principal=call.principal, needed=needed, client_ip=call.client_ip
    )


def _page(call: Call, items: Sequence[Any], key: str) -> dict[str, Any]:
    size = int(mcp_settings.PAGE_SIZE)
    cursor = call.params.get("cursor")
    start: Any = 0
    if cursor is not None:
        try:
            text = str(cursor)
            decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            start = decoded["o"] if isinstance(decoded, dict) else None
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise InvalidParams("Invalid cursor") from None
        if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start <= len(items):
            raise InvalidParams("Invalid cursor")
    page = items[start : start + size]
    result: dict[str, Any] = {key: [item.describe() for item in page]}
    if start + size < len(items):
        token = json.dumps({"o": start + size}).encode()
        result["nextCursor"] = base64.urlsafe_b64encode(token).decode().rstrip("=")
    return _cacheable(call, result)


def _cacheable(call: Call, result: dict[str, Any]) -> dict[str, Any]:
    if call.era is Era.STATELESS:
        result["ttlMs"] = int(mcp_settings.CACHE_TTL_MS)
        result["cacheScope"] = "private"
    return result


def _string(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidParams(f"Invalid params: '{name}' must be a non-empty string")
    return value


def _object(params: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = params.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParams(f"Invalid params: '{name}' must be an object")
    return value


def validate_arguments(tool: Tool, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
    """Arguments against the tool's input schema; the most relevant violation is named.

    Returns what the handler receives: the arguments as sent, or for a tool with its own
    compiled validation (tools.authoring) what that made of them.
    """
    if tool.parse_arguments is not None:
        return tool.parse_arguments(arguments)
    if not arguments and tool.accepts_no_arguments:
        return arguments
    error = best_match(tool.argument_validator.iter_errors(arguments))
    if error is None:
        return arguments
    where = "/".join(str(part) for part in error.absolute_path)
    detail = error.message if len(error.message) <= 200 else error.message[:200] + "…"
    raise InvalidParams(
        f"Invalid params: argument '{where}': {detail}" if where else f"Invalid params: {detail}"
    )


async def _with_input(
    call: Call, target: str, arguments: Any, run: Callable[[ToolContext], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """Run a handler that may ask for input; when stateless that is an InputRequiredResult."""
    ctx = call.context()
    method = call.message.method
    if call.era is Era.STATELESS:
        responses = call.params.get("inputResponses")
        if responses is not None and not isinstance(responses, dict):
            raise InvalidParams("Invalid params: inputResponses must be an object")
        ctx.input_responses = responses
        if "requestState" in call.params:
            ctx.state = request_state.open_state(
                call.params["requestState"],
                principal=call.principal,
                method=method,
                target=target,
                arguments=arguments,
            )
    try:
        return await run(ctx)
    except OUTAGE_ERRORS as exc:  # the database stopped answering: "not now", not a failure
        note(exc)
        raise DatabaseUnreachable from exc
    except InputRequired as needed:
        result: dict[str, Any] = {"resultType": "input_required", "inputRequests": needed.requests}
        if needed.state is not None:
            result["requestState"] = request_state.seal(
                principal=call.principal,
                method=method,
                target=target,
                arguments=arguments,
                state=needed.state,
            )
        return result


async def tools_list(call: Call) -> dict[str, Any]:
    return _page(call, call.catalogue.tools, "tools")


async def tools_call(call: Call) -> dict[str, Any]:
    return await call_audit.audited(call, _tools_call)


async def _tools_call(call: Call) -> dict[str, Any]:
    name = _string(call.params, "name")
    tool = call.catalogue.tools_by_name.get(name)
    if tool is None:
        raise InvalidParams(f"Unknown tool: {name}")
    await _authorize(call, tool.required_scopes)
    arguments = _object(call.params, "arguments")
    values = validate_arguments(tool, arguments)
    if tool.task_support is not None:
        as_task = await tasks.start(call, tool, arguments)
        if as_task is not None:
            return as_task

    async def run(ctx: ToolContext) -> dict[str, Any]:
        for capability in tool.required_client_capabilities:
            ctx.require_capability(capability)
        try:
            return await tool.handler(ctx, values)
        except ToolError as failure:
            return tool_failure(failure, tool=name)
        except (InputRequired, McpError, *OUTAGE_ERRORS):  # _with_input answers an outage
            raise
        except Exception as exc:  # noqa: BLE001 (logged by the translator)
            return tool_failure(exc, tool=name)

    return await _with_input(call, name, arguments, run)


async def resources_list(call: Call) -> dict[str, Any]:
    return _page(call, call.catalogue.resources, "resources")


async def resource_templates_list(call: Call) -> dict[str, Any]:
    return _page(call, call.catalogue.templates, "resourceTemplates")


async def resources_read(call: Call) -> dict[str, Any]:
    uri = _string(call.params, "uri")
    found = call.catalogue.find_resource(uri)
    if found is None:
        raise ResourceNotFound(data={"uri": uri})
    resource, variables = found
    await _authorize(call, resource.required_scopes)

    async def run(ctx: ToolContext) -> dict[str, Any]:
        if isinstance(resource, ResourceTemplate):
            contents = await resource.handler(ctx, uri, variables)
        else:
            contents = await resource.handler(ctx, uri)
        return _cacheable(call, {"contents": contents})

    return await _with_input(call, uri, {}, run)


async def prompts_list(call: Call) -> dict[str, Any]:
    return _page(call, call.catalogue.prompts, "prompts")


async def prompts_get(call: Call) -> dict[str, Any]:
    name = _string(call.params, "name")
    prompt = call.catalogue.prompts_by_name.get(name)
    if prompt is None:
        raise InvalidParams(f"Unknown prompt: {name}")
    await _authorize(call, prompt.required_scopes)
    arguments = _object(call.params, "arguments")
    if not all(isinstance(v, str) for v in arguments.values()):
        raise InvalidParams("Invalid params: prompt arguments must be strings")
    missing = [a.name for a in prompt.arguments if a.required and a.name not in arguments]
    if missing:
        raise InvalidParams(f"Invalid params: missing required argument '{missing[0]}'")

    async def run(ctx: ToolContext) -> dict[str, Any]:
        result = await prompt.handler(ctx, arguments)
        result.setdefault("description", prompt.description)
        return result

    return await _with_input(call, name, arguments, run)


async def completion_complete(call: Call) -> dict[str, Any]:
    ref = _object(call.params, "ref")
    argument = _object(call.params, "argument")
    if ref.get("type") not in ("ref/prompt", "ref/resource") or "name" not in argument:
        raise InvalidParams("Invalid params: ref and argument are required")
    return {"completion": {"values": [], "total": 0, "hasMore": False}}


async def ping(call: Call) -> dict[str, Any]:
    return {}


async def logging_set_level(call: Call) -> dict[str, Any]:
    level = call.params.get("level")
    if level not in LOG_LEVELS:
        raise InvalidParams("Invalid params: unknown log level")
    if call.session is not None:
        call.session["log_level"] = level
    return {}


def subscribable_uri(call: Call, uri: str) -> None:
    """A URI one may subscribe to: not absurdly long, and naming a resource the tenant has."""
    if len(uri) > int(mcp_settings.MAX_URI_LENGTH):
        raise InvalidParams("Invalid params: the URI is too long")
    if call.catalogue.find_resource(uri) is None:
        raise ResourceNotFound(data={"uri": uri})


async def resources_subscribe(call: Call) -> dict[str, Any]:
    uri = _string(call.params, "uri")
    subscribing = call.message.method == "resources/subscribe"
    if subscribing:
        subscribable_uri(call, uri)
    if call.session is not None:
        subscribed = set(call.session.get("subscriptions") or [])
        if subscribing:
            if uri not in subscribed and len(subscribed) >= int(mcp_settings.MAX_SUBSCRIPTIONS):
                raise InvalidParams("Invalid params: this session holds too many subscriptions")
            subscribed.add(uri)
        else:
            subscribed.discard(uri)
        call.session["subscriptions"] = sorted(subscribed)
    return {}


async def initialize(call: Call) -> dict[str, Any]:
    requested = call.params.get("protocolVersion")
    version = requested if requested in SESSION_VERSIONS else LATEST_SESSION_VERSION
    return {
        "protocolVersion": version,
        "capabilities": capabilities(),
        "serverInfo": SERVER_INFO,
        "instructions": call.catalogue.instructions or "Multi-tenant MCP server.",
    }


async def server_discover(call: Call) -> dict[str, Any]:
    result: dict[str, Any] = {
        "supportedVersions": list(SUPPORTED_VERSIONS),
        "capabilities": capabilities(Era.STATELESS),
    }
    if call.catalogue.instructions:
        result["instructions"] = call.catalogue.instructions
    return _cacheable(call, result)
