"""A stand-in for ``tools.authoring`` (typed tool-author API) with the same surface.

Only what the workspace tool set uses: ``Toolset(...).tool / .resource / .prompt`` on typed
coroutines, built into the registry's frozen dataclasses by ``build()``. Arguments are
described by their annotations (pydantic ``Field`` for limits and descriptions), a pydantic
return type becomes the output schema and the structured content, the docstring the
description. When ``tools.authoring`` exists, importing from it replaces this module.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from tools.context import ToolContext
from tools.errors import ToolError
from tools.registry import Prompt, PromptArgument, ResourceTemplate, Tool, ToolSet

Fn = Callable[..., Awaitable[Any]]


def _parameters(fn: Fn) -> tuple[dict[str, Any], inspect.Signature]:
    hints = get_type_hints(fn, include_extras=True)
    signature = inspect.signature(fn)
    fields: dict[str, Any] = {}
    for name, param in signature.parameters.items():
        hint = hints.get(name, Any)
        if hint is ToolContext:
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (hint, default)
    return fields, signature


def _description(fn: Fn) -> str:
    return inspect.getdoc(fn) or fn.__name__.replace("_", " ").capitalize()


def _text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


@dataclass
class Toolset:
    name: str
    description: str = ""
    instructions: str = ""
    _tools: list[Tool] = field(default_factory=list)
    _templates: list[ResourceTemplate] = field(default_factory=list)
    _prompts: list[Prompt] = field(default_factory=list)

    def tool(
        self,
        *,
        scopes: list[str] | None = None,
        title: str | None = None,
        read_only: bool = False,
        destructive: bool = True,
        idempotent: bool = False,
        open_world: bool = True,
    ) -> Callable[[Fn], Fn]:
        def decorate(fn: Fn) -> Fn:
            fields, _ = _parameters(fn)
            arguments = create_model(
                f"{fn.__name__}_arguments", __config__=ConfigDict(extra="forbid"), **fields
            )
            returns = get_type_hints(fn).get("return")
            output = (
                returns if isinstance(returns, type) and issubclass(returns, BaseModel) else None
            )
            schema = arguments.model_json_schema()
            schema.pop("title", None)
            annotations = {"readOnlyHint": read_only, "openWorldHint": open_world}
            if not read_only:
                annotations |= {"destructiveHint": destructive, "idempotentHint": idempotent}
            else:
                annotations["idempotentHint"] = True

            async def handler(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
                try:
                    parsed = arguments.model_validate(dict(args))
                except ValidationError as exc:
                    raise ToolError(f"Invalid arguments: {exc.errors()[0]['msg']}") from None
                result = await fn(ctx, **{name: getattr(parsed, name) for name in fields})
                if isinstance(result, BaseModel):
                    data = result.model_dump(mode="json")
                    return {"content": [_text(json.dumps(data))], "structuredContent": data}
                return {"content": [_text(str(result))]}

            self._tools.append(
                Tool(
                    name=fn.__name__,
                    title=title,
                    description=_description(fn),
                    handler=handler,
                    input_schema=schema,
                    output_schema=output.model_json_schema() if output else None,
                    annotations=annotations,
                    required_scopes=frozenset(scopes or ()),
                )
            )
            return fn

        return decorate

    def resource(
        self,
        uri_template: str,
        *,
        mime_type: str = "application/json",
        scopes: list[str] | None = None,
        title: str | None = None,
    ) -> Callable[[Fn], Fn]:
        def decorate(fn: Fn) -> Fn:
            async def handler(
                ctx: ToolContext, uri: str, variables: Mapping[str, str]
            ) -> list[dict[str, Any]]:
                value = await fn(ctx, **variables)
                if isinstance(value, BaseModel):
                    value = value.model_dump(mode="json")
                body = value if isinstance(value, str) else json.dumps(value)
                return [{"uri": uri, "mimeType": mime_type, "text": body}]

            self._templates.append(
                ResourceTemplate(
                    uri_template=uri_template,
                    name=fn.__name__,
                    title=title,
                    description=_description(fn),
                    mime_type=mime_type,
                    handler=handler,
                    required_scopes=frozenset(scopes or ()),
                )
            )
            return fn

        return decorate

    def prompt(
        self, *, title: str | None = None, scopes: list[str] | None = None
    ) -> Callable[[Fn], Fn]:
        def decorate(fn: Fn) -> Fn:
            fields, _ = _parameters(fn)
            described = create_model(f"{fn.__name__}_arguments", **fields)
            properties = described.model_json_schema().get("properties", {})

            async def handler(ctx: ToolContext, args: Mapping[str, str]) -> dict[str, Any]:
                value = await fn(ctx, **{k: v for k, v in args.items() if k in fields})
                if isinstance(value, str):
                    value = [{"role": "user", "content": _text(value)}]
                return {"messages": value}

            self._prompts.append(
                Prompt(
                    name=fn.__name__,
                    title=title,
                    description=_description(fn),
                    handler=handler,
                    arguments=tuple(
                        PromptArgument(
                            name,
                            properties.get(name, {}).get("description", ""),
                            required=default is ...,
                        )
                        for name, (_hint, default) in fields.items()
                    ),
                    required_scopes=frozenset(scopes or ()),
                )
            )
            return fn

        return decorate

    def build(self) -> ToolSet:
        return ToolSet(
            name=self.name,
            tools=tuple(self._tools),
            templates=tuple(self._templates),
            prompts=tuple(self._prompts),
            instructions=self.instructions,
        )
