"""The dispatcher: one JSON-RPC request in, one result out, for either era and any transport.

It knows nothing of HTTP: the consumer (and the stdio command) give it a ``Call`` with the
caller, the era, and callbacks to send notifications or server-to-client requests.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import best_match

from mcpserver.conf import mcp_settings
from mcpserver.protocol import request_state
from mcpserver.protocol.errors import (
    InsufficientScope,
    InvalidParams,
    McpError,
    MethodNotFound,
    ResourceNotFound,
    ToolError,
)
from mcpserver.protocol.jsonrpc import Message
from mcpserver.protocol.versions import (
    LATEST_LEGACY,
    LEGACY_VERSIONS,
    META_CAPABILITIES,
    META_LOG_LEVEL,
    META_SERVER_INFO,
    SERVER_INFO,
    SUPPORTED_VERSIONS,
)
from tenants.principal import Principal
from tools.context import LOG_LEVELS, Ask, InputRequired, Notify, ToolContext
from tools.registry import Catalogue, ResourceTemplate, Tool, catalogue_for

logger = logging.getLogger("mcpserver.protocol")


async def _drop(method: str, params: dict[str, Any]) -> None:
    return None


@dataclass
class Call:
    principal: Principal
    toolsets: tuple[str, ...]
    modern: bool
    message: Message
    # Legacy session state (a JSON dict kept in the shared store), None in 2026-07-28.
    session: dict[str, Any] | None = None
    notify: Notify = _drop
    ask: Ask | None = None

    def __post_init__(self) -> None:
        self.params: dict[str, Any] = self.message.params or {}
        meta = self.params.get("_meta")
        self.meta: Mapping[str, Any] = meta if isinstance(meta, Mapping) else {}

    @property
    def catalogue(self) -> Catalogue:
        return catalogue_for(self.toolsets)

    def context(self) -> ToolContext:
        meta = self.meta
        if self.modern:
            capabilities = meta.get(META_CAPABILITIES) or {}
            level = meta.get(META_LOG_LEVEL)
        else:
            session = self.session or {}
            capabilities = session.get("capabilities") or {}
            level = session.get("log_level")
        token = meta.get("progressToken")
        return ToolContext(
            principal=self.principal,
            modern=self.modern,
            client_capabilities=capabilities if isinstance(capabilities, Mapping) else {},
            progress_token=token if isinstance(token, str | int) else None,
            log_level=level if level in LOG_LEVELS else None,
            notify=self.notify,
            ask=self.ask,
        )


Handler = Callable[[Call], Awaitable[dict[str, Any]]]


def capabilities(*, modern: bool) -> dict[str, Any]:
    caps: dict[str, Any] = {
        "tools": {"listChanged": True},
        "resources": {"listChanged": True, "subscribe": True},
        "prompts": {"listChanged": True},
        "completions": {},
        "logging": {},
    }
    return caps


def _check_scopes(call: Call, required: frozenset[str]) -> None:
    if not required:
        return
    missing = call.principal.missing_scopes(required)
    if missing:
        raise InsufficientScope(frozenset(required))


def _page(call: Call, items: Sequence[Any], key: str) -> dict[str, Any]:
    size = int(mcp_settings.PAGE_SIZE)
    cursor = call.params.get("cursor")
    start = 0
    if cursor is not None:
        try:
            decoded = json.loads(
                base64.urlsafe_b64decode(str(cursor) + "=" * (-len(str(cursor)) % 4))
            )
            start = int(decoded["o"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise InvalidParams("Invalid cursor") from None
        if not 0 <= start <= len(items):
            raise InvalidParams("Invalid cursor")
    page = items[start : start + size]
    result: dict[str, Any] = {key: [item.describe() for item in page]}
    if start + size < len(items):
        token = json.dumps({"o": start + size}).encode()
        result["nextCursor"] = base64.urlsafe_b64encode(token).decode().rstrip("=")
    return _cacheable(call, result)


def _cacheable(call: Call, result: dict[str, Any]) -> dict[str, Any]:
    if call.modern:
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


def validate_arguments(tool: Tool, arguments: Mapping[str, Any]) -> None:
    """Arguments against the tool's input schema; the most relevant violation is named."""
    if not arguments and tool.accepts_no_arguments:
        return
    error = best_match(tool.argument_validator.iter_errors(arguments))
    if error is None:
        return
    where = "/".join(str(part) for part in error.absolute_path)
    detail = error.message if len(error.message) <= 200 else error.message[:200] + "…"
    raise InvalidParams(
        f"Invalid params: argument '{where}': {detail}" if where else f"Invalid params: {detail}"
    )


async def _with_input(
    call: Call, target: str, arguments: Any, run: Callable[[ToolContext], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """Run a handler that may ask for input; in 2026-07-28 that is an InputRequiredResult."""
    ctx = call.context()
    method = call.message.method
    if call.modern:
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
    name = _string(call.params, "name")
    tool = call.catalogue.tools_by_name.get(name)
    if tool is None:
        raise InvalidParams(f"Unknown tool: {name}")
    _check_scopes(call, tool.required_scopes)
    arguments = _object(call.params, "arguments")
    validate_arguments(tool, arguments)

    async def run(ctx: ToolContext) -> dict[str, Any]:
        for capability in tool.required_client_capabilities:
            ctx.require_capability(capability)
        try:
            return await tool.handler(ctx, arguments)
        except (InputRequired, McpError):
            raise
        except ToolError as failure:
            return {"content": [{"type": "text", "text": str(failure)}], "isError": True}
        except Exception:
            logger.exception("Tool %s failed", name)
            return {"content": [{"type": "text", "text": "The tool failed."}], "isError": True}

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
    _check_scopes(call, resource.required_scopes)

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
    _check_scopes(call, prompt.required_scopes)
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


async def resources_subscribe(call: Call) -> dict[str, Any]:
    uri = _string(call.params, "uri")
    if call.session is not None:
        subscribed = set(call.session.get("subscriptions") or [])
        if call.message.method == "resources/subscribe":
            subscribed.add(uri)
        else:
            subscribed.discard(uri)
        call.session["subscriptions"] = sorted(subscribed)
    return {}


async def initialize(call: Call) -> dict[str, Any]:
    requested = call.params.get("protocolVersion")
    version = requested if requested in LEGACY_VERSIONS else LATEST_LEGACY
    return {
        "protocolVersion": version,
        "capabilities": capabilities(modern=False),
        "serverInfo": SERVER_INFO,
        "instructions": call.catalogue.instructions or "Multi-tenant MCP server.",
    }


async def server_discover(call: Call) -> dict[str, Any]:
    result: dict[str, Any] = {
        "supportedVersions": list(SUPPORTED_VERSIONS),
        "capabilities": capabilities(modern=True),
    }
    if call.catalogue.instructions:
        result["instructions"] = call.catalogue.instructions
    return _cacheable(call, result)


COMMON: dict[str, Handler] = {
    "tools/list": tools_list,
    "tools/call": tools_call,
    "resources/list": resources_list,
    "resources/templates/list": resource_templates_list,
    "resources/read": resources_read,
    "prompts/list": prompts_list,
    "prompts/get": prompts_get,
    "completion/complete": completion_complete,
}
MODERN_METHODS: dict[str, Handler] = {**COMMON, "server/discover": server_discover}
LEGACY_METHODS: dict[str, Handler] = {
    **COMMON,
    "initialize": initialize,
    "ping": ping,
    "logging/setLevel": logging_set_level,
    "resources/subscribe": resources_subscribe,
    "resources/unsubscribe": resources_subscribe,
}
# Methods the consumer serves itself (a long-lived stream), listed so routing knows them.
MODERN_STREAM_METHODS = frozenset({"subscriptions/listen"})


def knows(method: str, *, modern: bool) -> bool:
    if modern:
        return method in MODERN_METHODS or method in MODERN_STREAM_METHODS
    return method in LEGACY_METHODS


async def dispatch(call: Call) -> dict[str, Any]:
    table = MODERN_METHODS if call.modern else LEGACY_METHODS
    handler = table.get(call.message.method)
    if handler is None:
        raise MethodNotFound(f"Method not found: {call.message.method}")
    result = await handler(call)
    if call.modern:
        result.setdefault("resultType", "complete")
        meta = result.setdefault("_meta", {})
        meta[META_SERVER_INFO] = SERVER_INFO
    return result
