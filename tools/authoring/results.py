"""From what an author's function returns to the protocol's result shapes.

A tool's return annotation decides, once, what its results look like:

- ``str``: one text block, no output schema;
- ``None``: no content;
- anything pydantic can describe (a model, a ``TypedDict``, a dataclass, ``dict[str, X]``,
  a list ...): an output schema, ``structuredContent`` and the same JSON as a text block. A
  schema that is not an object is wrapped as ``{"result": ...}``, as the MCP SDK does;
- no annotation: text for a string, nothing for ``None``, JSON text for anything else.
"""

from __future__ import annotations

import base64
import inspect
import json
from collections.abc import Callable
from typing import Any

from pydantic import PydanticUserError, TypeAdapter, ValidationError
from pydantic_core import to_json, to_jsonable_python

Result = dict[str, Any]


def _text(text: str) -> Result:
    return {"content": [{"type": "text", "text": text}]}


def _unannotated(value: Any) -> Result:
    if value is None:
        return {"content": []}
    if isinstance(value, str):
        return _text(value)
    return _text(to_json(value).decode())


class ToolOutput:
    """The output schema of one tool and the conversion of its return values."""

    def __init__(self, hint: Any, *, label: str) -> None:
        self.label = label
        self.schema: dict[str, Any] | None = None
        self.convert: Callable[[Any], Result]
        if hint is inspect.Signature.empty:
            self.convert = _unannotated
        elif hint is None or hint is type(None):
            self.convert = lambda value: {"content": []}
        elif hint is str:
            self.convert = lambda value: _text(str(value))
        else:
            try:
                self._structured(hint)
            except PydanticUserError as error:
                raise TypeError(f"{label}: return annotation: {error.message}") from error

    def _structured(self, hint: Any) -> None:
        self.adapter: TypeAdapter[Any] = TypeAdapter(hint)
        schema = self.adapter.json_schema(mode="serialization")
        self.wrapped = schema.get("type") != "object"
        if self.wrapped:
            defs = schema.pop("$defs", None)
            schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
            if defs:
                schema["$defs"] = defs
        self.schema = schema
        self.convert = self._structured_result

    def _structured_result(self, value: Any) -> Result:
        try:
            # Validated first: structuredContent must match the advertised outputSchema.
            data = self.adapter.dump_python(self.adapter.validate_python(value), mode="json")
        except ValidationError as error:
            raise TypeError(f"{self.label} returned a value its annotation does not allow") from (
                error
            )
        if self.wrapped:
            data = {"result": data}
        return {"content": [{"type": "text", "text": json.dumps(data)}], "structuredContent": data}


def resource_contents(uri: str, value: Any, mime_type: str | None) -> list[dict[str, Any]]:
    """bytes: a base64 blob; str: text; anything else: its JSON text."""
    if isinstance(value, bytes | bytearray):
        blob = base64.b64encode(value).decode()
        return [{"uri": uri, "mimeType": mime_type or "application/octet-stream", "blob": blob}]
    if isinstance(value, str):
        return [{"uri": uri, "mimeType": mime_type or "text/plain", "text": value}]
    text = to_json(value).decode()
    return [{"uri": uri, "mimeType": mime_type or "application/json", "text": text}]


def prompt_messages(value: Any) -> dict[str, Any]:
    """A string is one user message; a list is the messages (a string in it: a user message)."""
    items = [value] if isinstance(value, str) else list(value)
    messages = [
        {"role": "user", "content": {"type": "text", "text": item}}
        if isinstance(item, str)
        else to_jsonable_python(item)
        for item in items
    ]
    return {"messages": messages}
