"""Reading an author's function once, at decoration: what is injected, what is an argument.

Parameters annotated ``ToolContext`` or ``Principal`` (any name, any position) are injected;
every other parameter is an argument the client sends. The arguments become one pydantic
model, built here and reused for every call: its JSON Schema is the published input schema
and its validation is the only check a call goes through, so the two cannot disagree.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from channels.db import database_sync_to_async
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PydanticUserError,
    ValidationError,
    create_model,
)
from pydantic.fields import FieldInfo

from mcpserver.errors import InvalidParams
from tenants.principal import Principal
from tools.context import ToolContext

# How an injected parameter's value is found from the context.
INJECTED: dict[type, Callable[[ToolContext], Any]] = {
    ToolContext: lambda ctx: ctx,
    Principal: lambda ctx: ctx.principal,
}
MAX_DETAIL = 200


class Arguments(dict[str, Any]):
    """Arguments already validated by ``Signature.parse`` (the handler does not redo it)."""


def _injected_type(hint: Any) -> type | None:
    if typing.get_origin(hint) is Annotated:
        hint = hint.__origin__
    for kind in INJECTED:
        if isinstance(hint, type) and issubclass(hint, kind):
            return kind
    return None


def description_of(fn: Callable[..., Any]) -> str:
    """The first paragraph of the docstring, on one line."""
    doc = inspect.getdoc(fn) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def invalid_params(error: ValidationError, *, prefix: str = "argument") -> InvalidParams:
    """The first problem pydantic found, naming the field (never echoing the value)."""
    first = error.errors(include_url=False, include_input=False, include_context=False)[0]
    where = "/".join(str(part) for part in first["loc"])
    detail = first["msg"] if len(first["msg"]) <= MAX_DETAIL else first["msg"][:MAX_DETAIL] + "…"
    if where:
        return InvalidParams(f"Invalid params: {prefix} '{where}': {detail}")
    return InvalidParams(f"Invalid params: {detail}")


class Signature:
    """One author function: its argument model, its injected parameters, how to call it."""

    def __init__(self, fn: Callable[..., Any], *, label: str) -> None:
        if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
            raise TypeError(f"{label}: a generator cannot be a tool, resource or prompt")
        self.fn = fn
        self.label = label
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except NameError as error:
            raise TypeError(f"{label}: cannot resolve its annotations ({error})") from None
        self.return_hint: Any = hints.get("return", inspect.Signature.empty)
        self.injected: list[tuple[str, Callable[[ToolContext], Any]]] = []
        fields: dict[str, Any] = {}
        self.names: list[tuple[str, str]] = []  # (parameter, model field)
        for param in inspect.signature(fn).parameters.values():
            hint = hints.get(param.name, Any)
            kind = _injected_type(hint)
            if kind is not None:
                self.injected.append((param.name, INJECTED[kind]))
                continue
            field_name, spec = self._field(param, hint)
            fields[field_name] = spec
            self.names.append((param.name, field_name))
        config = ConfigDict(extra="forbid")
        try:
            self.model: type[BaseModel] = create_model(
                f"{fn.__name__}_arguments", __config__=config, **fields
            )
            self.schema = self._input_schema()
        except PydanticUserError as error:
            raise TypeError(f"{label}: {error.message}") from error
        self.is_async = inspect.iscoroutinefunction(fn)
        # Sync functions are for ORM work: channels' database_sync_to_async runs them on the
        # thread Django's ORM expects (thread-sensitive) and closes stale connections around
        # them, as the rest of the project does. They run one at a time per process; blocking
        # work that should run concurrently belongs in an async function (asyncio.to_thread).
        self._run_sync = None if self.is_async else database_sync_to_async(fn)

    def _field(self, param: inspect.Parameter, hint: Any) -> tuple[str, Any]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise TypeError(f"{self.label}: parameter {param.name!r} must be a named parameter")
        if param.name.startswith("_"):
            raise TypeError(f"{self.label}: parameter {param.name!r} may not start with '_'")
        default: Any = ... if param.default is param.empty else param.default
        if hasattr(BaseModel, param.name):
            # A name such as "schema" or "copy" would shadow the model's own attribute: the
            # field gets another name and keeps the parameter's as its alias on the wire.
            return f"arg_{param.name}", (hint, Field(default, alias=param.name))
        return param.name, (hint, default)

    def _input_schema(self) -> dict[str, Any]:
        schema = self.model.model_json_schema()
        schema.pop("title", None)  # the synthesized model's name says nothing to a client
        return {"type": "object", **schema}

    def fields(self) -> Mapping[str, FieldInfo]:
        """The argument fields by their wire names, in the function's order."""
        by_field = self.model.model_fields
        return {param: by_field[name] for param, name in self.names}

    def parse(self, arguments: Mapping[str, Any], *, prefix: str = "argument") -> Arguments:
        try:
            model = self.model.model_validate(arguments)
        except ValidationError as error:
            raise invalid_params(error, prefix=prefix) from None
        return Arguments((param, getattr(model, name)) for param, name in self.names)

    async def call(self, ctx: ToolContext, arguments: Mapping[str, Any]) -> Any:
        values = arguments if isinstance(arguments, Arguments) else self.parse(arguments)
        kwargs = dict(values)
        for name, get in self.injected:
            kwargs[name] = get(ctx)
        if self._run_sync is not None:
            return await self._run_sync(**kwargs)
        return await self.fn(**kwargs)
