"""``Toolset``: typed functions in, the registry's frozen ``ToolSet`` out.

Everything is derived at decoration, when the module is imported (a mistake fails at start,
not on a client's call); ``build`` freezes the set, and the tools app registers it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, overload

from mcpserver.errors import InvalidParams, ResourceNotFound
from tools.authoring.results import ToolOutput, prompt_messages, resource_contents
from tools.authoring.signature import Signature, description_of
from tools.context import ToolContext
from tools.registry import (
    TOOL_NAME_RE,
    Prompt,
    PromptArgument,
    Resource,
    ResourceTemplate,
    Tool,
    ToolSet,
)

F = TypeVar("F", bound=Callable[..., Any])
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z0-9_]+)\}")
HINTS = {
    "read_only": "readOnlyHint",
    "destructive": "destructiveHint",
    "idempotent": "idempotentHint",
    "open_world": "openWorldHint",
}


def _scopes(scopes: Iterable[str] | None, label: str) -> frozenset[str]:
    if isinstance(scopes, str):
        raise TypeError(f"{label}: scopes is a list of scope names, not one string")
    return frozenset(scopes or ())


def _task_support(task: bool | str, label: str) -> str | None:
    """``task=True``: the tool may run as a task (tasks extension); ``task="required"``: only
    as one."""
    if task is True:
        return "optional"
    if task is False:
        return None
    if task == "required":
        return "required"
    raise TypeError(f'{label}: task is True, False or "required"')


class Toolset:
    """A named set of tools, resources and prompts written as typed functions."""

    def __init__(
        self, name: str, *, description: str = "", instructions: str = "", internal: bool = False
    ) -> None:
        self.name = name
        self.description = description
        self.instructions = instructions
        self.internal = internal
        self._tools: dict[str, Tool] = {}
        self._resources: dict[str, Resource] = {}
        self._templates: dict[str, ResourceTemplate] = {}
        self._prompts: dict[str, Prompt] = {}
        self._built: ToolSet | None = None

    def __repr__(self) -> str:
        return f"Toolset({self.name!r})"

    def _check_open(self) -> None:
        if self._built is not None:
            raise RuntimeError(f"tool set {self.name!r} is registered already: add items first")

    def _add(self, items: dict[str, Any], key: str, item: Any) -> None:
        self._check_open()
        if key in items:
            raise ValueError(f"tool set {self.name!r} has {key!r} twice")
        items[key] = item

    @overload
    def tool(self, fn: F, /) -> F: ...

    @overload
    def tool(
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        scopes: Sequence[str] | None = None,
        read_only: bool | None = None,
        destructive: bool | None = None,
        idempotent: bool | None = None,
        open_world: bool | None = None,
        icons: Sequence[Mapping[str, Any]] | None = None,
        task: bool | str = False,
    ) -> Callable[[F], F]: ...

    def tool(self, name: Any = None, **options: Any) -> Any:
        """Decorate a function as a tool (``@toolset.tool`` or ``@toolset.tool(...)``)."""
        if callable(name):
            return self._tool(name, None, **options)
        return lambda fn: self._tool(fn, name, **options)

    def _tool(
        self,
        fn: F,
        name: str | None,
        *,
        title: str | None = None,
        description: str | None = None,
        scopes: Sequence[str] | None = None,
        icons: Sequence[Mapping[str, Any]] | None = None,
        task: bool | str = False,
        **hints: bool | None,
    ) -> F:
        self._check_open()
        name = name or fn.__name__
        label = f"tool {name!r} of {self.name!r}"
        if not TOOL_NAME_RE.match(name):
            raise ValueError(f"{label}: a tool name is 1 to 128 of A-Z a-z 0-9 _ . -")
        unknown = set(hints) - set(HINTS)
        if unknown:
            raise TypeError(f"{label}: unknown option(s) {', '.join(sorted(unknown))}")
        description = description or description_of(fn)
        if not description:
            raise ValueError(f"{label}: needs a description (write a docstring)")
        task_support = _task_support(task, label)
        signature = Signature(fn, label=label)
        output = ToolOutput(signature.return_hint, label=label)

        async def handler(ctx: ToolContext, arguments: Mapping[str, Any]) -> dict[str, Any]:
            return output.convert(await signature.call(ctx, arguments))

        annotations = {HINTS[k]: v for k, v in hints.items() if v is not None}
        tool = Tool(
            name=name,
            title=title,
            description=description,
            handler=handler,
            input_schema=signature.schema,
            output_schema=output.schema,
            annotations=annotations or None,
            required_scopes=_scopes(scopes, label),
            icons=tuple(icons or ()),
            parse_arguments=signature.parse,
            task_support=task_support,
        )
        self._add(self._tools, name, tool)
        return fn

    def resource(
        self,
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> Callable[[F], F]:
        """A resource at ``uri``; with ``{placeholders}`` a template, one parameter each."""

        def decorate(fn: F) -> F:
            self._check_open()
            label = f"resource {uri!r} of {self.name!r}"
            signature = Signature(fn, label=label)
            placeholders = PLACEHOLDER_RE.findall(uri)
            if sorted(placeholders) != sorted(signature.fields()):
                raise TypeError(
                    f"{label}: parameters {sorted(signature.fields())} must be the URI's "
                    f"placeholders {sorted(placeholders)} (besides the injected ones)"
                )
            common: dict[str, Any] = {
                "name": name or fn.__name__,
                "title": title,
                "description": description or description_of(fn) or None,
                "mime_type": mime_type,
                "required_scopes": _scopes(scopes, label),
            }
            if placeholders:
                self._add(self._templates, uri, self._template(uri, signature, common))
            else:

                async def read(ctx: ToolContext, requested: str) -> list[dict[str, Any]]:
                    return resource_contents(requested, await signature.call(ctx, {}), mime_type)

                self._add(self._resources, uri, Resource(uri=uri, handler=read, **common))
            return fn

        return decorate

    @staticmethod
    def _template(uri: str, signature: Signature, common: dict[str, Any]) -> ResourceTemplate:
        mime_type = common["mime_type"]

        async def read(
            ctx: ToolContext, requested: str, variables: Mapping[str, str]
        ) -> list[dict[str, Any]]:
            try:
                values = signature.parse(variables)
            except InvalidParams:  # a value of the wrong type names no resource
                raise ResourceNotFound(data={"uri": requested}) from None
            return resource_contents(requested, await signature.call(ctx, values), mime_type)

        return ResourceTemplate(uri_template=uri, handler=read, **common)

    @overload
    def prompt(self, fn: F, /) -> F: ...

    @overload
    def prompt(
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> Callable[[F], F]: ...

    def prompt(self, name: Any = None, **options: Any) -> Any:
        """Decorate a function returning a string (one user message) or a list of messages."""
        if callable(name):
            return self._prompt(name, None, **options)
        return lambda fn: self._prompt(fn, name, **options)

    def _prompt(
        self,
        fn: F,
        name: str | None,
        *,
        title: str | None = None,
        description: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> F:
        self._check_open()
        name = name or fn.__name__
        label = f"prompt {name!r} of {self.name!r}"
        description = description or description_of(fn)
        if not description:
            raise ValueError(f"{label}: needs a description (write a docstring)")
        signature = Signature(fn, label=label)
        arguments = tuple(
            PromptArgument(arg, info.description or "", info.is_required())
            for arg, info in signature.fields().items()
        )

        async def handler(ctx: ToolContext, values: Mapping[str, str]) -> dict[str, Any]:
            parsed = signature.parse(values)
            return prompt_messages(await signature.call(ctx, parsed))

        prompt = Prompt(
            name=name,
            title=title,
            description=description,
            handler=handler,
            arguments=arguments,
            required_scopes=_scopes(scopes, label),
        )
        self._add(self._prompts, name, prompt)
        return fn

    def build(self) -> ToolSet:
        """The frozen set for the registry (the same object every time; no more additions)."""
        if self._built is None:
            self._built = ToolSet(
                name=self.name,
                tools=tuple(self._tools.values()),
                resources=tuple(self._resources.values()),
                templates=tuple(self._templates.values()),
                prompts=tuple(self._prompts.values()),
                instructions=self.instructions,
                description=self.description,
                internal=self.internal,
            )
        return self._built
