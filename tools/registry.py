"""The declarative registry of tools, resources and prompts, one module per tool set.

A tool set module builds a ``ToolSet`` (frozen dataclasses all the way down) and registers it
with ``register``. A tenant's catalogue is the union of its enabled tool sets less the tools
it disabled, built once per distinct (set names, disabled tool names) pair and cached: nothing
here touches the database.

Handlers are coroutines. They receive a ``tools.context.ToolContext`` (who is asking, how to
report progress or logs, how to ask the client for input) and the validated arguments, and
return a result dict in the shape of the protocol's result type (``content``, ...). A handler
that fails raises ``tools.errors.ToolError`` (the message is shown to the client) or anything
else (logged; the client sees a generic message).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

if TYPE_CHECKING:
    from tools.context import ToolContext

Handler = Callable[["ToolContext", Mapping[str, Any]], Awaitable[dict[str, Any]]]

TOOL_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def _frozen(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    return None if value is None else MappingProxyType(dict(value))


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    handler: Handler
    input_schema: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({"type": "object", "properties": {}})
    )
    output_schema: Mapping[str, Any] | None = None
    title: str | None = None
    annotations: Mapping[str, Any] | None = None
    required_scopes: frozenset[str] = frozenset()
    # Client capabilities the tool cannot run without (e.g. "sampling"); checked per request.
    required_client_capabilities: frozenset[str] = frozenset()
    icons: tuple[Mapping[str, Any], ...] = ()
    # The tasks extension (io.modelcontextprotocol/tasks): "optional" (a client that declares
    # the extension gets a task, others a plain result) or "required" (others get -32021).
    task_support: str | None = None
    # Input a task-capable tool gathers by multi round-trip before its task is created: the
    # request without these answers gets an InputRequiredResult, the one with them a task
    # (where ``request_input`` for these keys returns them at once).
    task_inputs: Mapping[str, Any] | None = None
    # The upstream a tenant's own tool calls (an MCP server's name, or "http:" and the tool's
    # name for an HTTP tool), recorded in the call's audit row; "" for a local tool.
    upstream: str = ""
    # Set by tools.authoring: the tool's own compiled validation, used instead of the JSON
    # Schema walk. It raises InvalidParams naming the field, and what it returns (the
    # arguments converted to the function's types, defaults filled in) is what the handler
    # receives.
    parse_arguments: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = field(
        default=None, compare=False
    )
    # Built once from input_schema (JSON Schema 2020-12 unless the schema names another
    # dialect); a malformed schema fails at registration, not on a client's call.
    argument_validator: Validator = field(init=False, repr=False, compare=False)
    # Most calls of argument-less tools send {}: when the schema accepts it, skip the walk.
    accepts_no_arguments: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_schema", _frozen(self.input_schema))
        object.__setattr__(self, "output_schema", _frozen(self.output_schema))
        object.__setattr__(self, "annotations", _frozen(self.annotations))
        object.__setattr__(self, "task_inputs", _frozen(self.task_inputs))
        if self.task_support not in (None, "optional", "required"):
            raise ValueError(f"tool {self.name!r}: task_support is optional, required or None")
        object.__setattr__(self, "icons", tuple(_frozen(icon) for icon in self.icons))
        schema = _thaw(self.input_schema)
        validator_class = validator_for(schema, default=Draft202012Validator)
        validator_class.check_schema(schema)
        validator = validator_class(schema)
        object.__setattr__(self, "argument_validator", validator)
        object.__setattr__(self, "accepts_no_arguments", validator.is_valid({}))

    def describe(self) -> dict[str, Any]:
        """The wire form used in ``tools/list``."""
        out: dict[str, Any] = {"name": self.name}
        if self.title:
            out["title"] = self.title
        out["description"] = self.description
        out["inputSchema"] = _thaw(self.input_schema)
        if self.output_schema is not None:
            out["outputSchema"] = _thaw(self.output_schema)
        if self.annotations:
            out["annotations"] = _thaw(self.annotations)
        if self.icons:
            out["icons"] = _thaw(self.icons)
        if self.task_support:
            out["execution"] = {"taskSupport": self.task_support}
        return out


def _with_labels(out: dict[str, Any], item: Resource | ResourceTemplate) -> dict[str, Any]:
    """The optional labels resources and templates share, in their wire names."""
    for wire, value in (
        ("title", item.title),
        ("description", item.description),
        ("mimeType", item.mime_type),
    ):
        if value:
            out[wire] = value
    return out


@dataclass(frozen=True, slots=True)
class Resource:
    uri: str
    name: str
    handler: Callable[[ToolContext, str], Awaitable[list[dict[str, Any]]]]
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    required_scopes: frozenset[str] = frozenset()

    def describe(self) -> dict[str, Any]:
        return _with_labels({"uri": self.uri, "name": self.name}, self)


@dataclass(frozen=True, slots=True)
class ResourceTemplate:
    uri_template: str
    name: str
    handler: Callable[[ToolContext, str, Mapping[str, str]], Awaitable[list[dict[str, Any]]]]
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    required_scopes: frozenset[str] = frozenset()

    def match(self, uri: str) -> dict[str, str] | None:
        found = _template_regex(self.uri_template).fullmatch(uri)
        return found.groupdict() if found else None

    def describe(self) -> dict[str, Any]:
        return _with_labels({"uriTemplate": self.uri_template, "name": self.name}, self)


@dataclass(frozen=True, slots=True)
class PromptArgument:
    name: str
    description: str = ""
    required: bool = False


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    description: str
    handler: Callable[[ToolContext, Mapping[str, str]], Awaitable[dict[str, Any]]]
    title: str | None = None
    arguments: tuple[PromptArgument, ...] = ()
    required_scopes: frozenset[str] = frozenset()

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.title:
            out["title"] = self.title
        out["description"] = self.description
        if self.arguments:
            out["arguments"] = [
                {"name": a.name, "description": a.description, "required": a.required}
                for a in self.arguments
            ]
        return out


@dataclass(frozen=True, slots=True)
class ToolSet:
    name: str
    tools: tuple[Tool, ...] = ()
    resources: tuple[Resource, ...] = ()
    templates: tuple[ResourceTemplate, ...] = ()
    prompts: tuple[Prompt, ...] = ()
    instructions: str = ""
    description: str = ""
    # Fixture sets (the conformance suite's) that customers' tenants may not enable.
    internal: bool = False


@dataclass(frozen=True, slots=True)
class Catalogue:
    """What one tenant can see: tools, resources and prompts in a deterministic order."""

    tools: tuple[Tool, ...]
    resources: tuple[Resource, ...]
    templates: tuple[ResourceTemplate, ...]
    prompts: tuple[Prompt, ...]
    instructions: str
    tools_by_name: Mapping[str, Tool]
    resources_by_uri: Mapping[str, Resource]
    prompts_by_name: Mapping[str, Prompt]

    def find_resource(self, uri: str) -> tuple[Resource | ResourceTemplate, dict[str, str]] | None:
        resource = self.resources_by_uri.get(uri)
        if resource is not None:
            return resource, {}
        for template in self.templates:
            variables = template.match(uri)
            if variables is not None:
                return template, variables
        return None


_TOOLSETS: dict[str, ToolSet] = {}


def register(toolset: ToolSet) -> ToolSet:
    _TOOLSETS[toolset.name] = toolset
    catalogue_for.cache_clear()
    return toolset


def all_toolsets() -> Mapping[str, ToolSet]:
    return MappingProxyType(_TOOLSETS)


# One entry per distinct selection in use (tenants with the same sets and disabled tools share).
@lru_cache(maxsize=1024)
def catalogue_for(names: tuple[str, ...], disabled: tuple[str, ...] = ()) -> Catalogue:
    """The catalogue of the named tool sets, in the order given (unknown names skipped), without
    the tools named in ``disabled`` (names no set offers are ignored: an upstream tool's, say).

    Cached per argument pair: callers pass the tenant view's tuples as they are, so the hot
    path is one dictionary lookup."""
    sets = [_TOOLSETS[name] for name in names if name in _TOOLSETS]
    return build_catalogue(
        sets,
        disabled=disabled,
        instructions="\n\n".join(s.instructions for s in sets if s.instructions),
    )


def build_catalogue(
    parts: Iterable[ToolSet], *, disabled: Iterable[str] = (), instructions: str = ""
) -> Catalogue:
    """The catalogue of ``parts`` in order (the first of equal names wins), less ``disabled``.

    ``catalogue_for`` builds registered sets with it; ``tools.upstream`` builds a tenant's
    static catalogue followed by its own tools the same way."""
    sets = list(parts)
    off = frozenset(disabled)
    tools = _unique((t for s in sets for t in s.tools if t.name not in off), key=lambda t: t.name)
    resources = _unique((r for s in sets for r in s.resources), key=lambda r: r.uri)
    templates = _unique((t for s in sets for t in s.templates), key=lambda t: t.uri_template)
    prompts = _unique((p for s in sets for p in s.prompts), key=lambda p: p.name)
    return Catalogue(
        tools=tools,
        resources=resources,
        templates=templates,
        prompts=prompts,
        instructions=instructions,
        tools_by_name=MappingProxyType({t.name: t for t in tools}),
        resources_by_uri=MappingProxyType({r.uri: r for r in resources}),
        prompts_by_name=MappingProxyType({p.name: p for p in prompts}),
    )


def _unique(items: Iterable[Any], *, key: Callable[[Any], str]) -> tuple[Any, ...]:
    seen: dict[str, Any] = {}
    for item in items:
        seen.setdefault(key(item), item)
    return tuple(seen.values())


@lru_cache(maxsize=64)
def _template_regex(template: str) -> re.Pattern[str]:
    pattern = ""
    for part in re.split(r"(\{[A-Za-z0-9_]+\})", template):
        if part.startswith("{") and part.endswith("}"):
            pattern += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(v) for v in value]
    return value
