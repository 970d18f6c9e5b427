"""Custom request headers (SEP-2243, 2026-07-28): tool parameters that also travel as headers.

A tool's input schema may annotate a property with ``"x-mcp-header": "Region"``; a client then
sends that argument in ``Mcp-Param-Region`` as well, so an intermediary can route on it without
reading the body. The server checks the header against the body before the tool runs: a
missing header for a value the body carries, a value that differs, or a malformed encoding is
a 400 with -32020 (header mismatch), like the standard headers.

Values are compared after trimming optional whitespace (RFC 9110 §5.5). ``=?base64?...?=`` is
base64 of the UTF-8 value (strict: the standard alphabet with correct padding); anything else
is the value itself.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from mcpserver.errors import HeaderMismatch
from tools.registry import Tool

PREFIX = "mcp-param-"
_ENCODED = re.compile(r"^=\?base64\?(.*)\?=$", re.S)
_VISIBLE = re.compile(r"^[\x20-\x7e]*$")


def annotated(tool: Tool) -> dict[str, str]:
    """The tool's parameters that travel as headers: parameter name → header suffix."""
    properties = (tool.input_schema or {}).get("properties") or {}
    return {
        name: str(schema["x-mcp-header"])
        for name, schema in properties.items()
        if isinstance(schema, Mapping) and isinstance(schema.get("x-mcp-header"), str)
    }


def _decoded(raw: str, header: str) -> str:
    value = raw.strip(" \t")
    if not _VISIBLE.match(value):
        raise HeaderMismatch(f"Header mismatch: {header} holds characters a header may not")
    found = _ENCODED.match(value)
    if found is None:
        return value
    try:
        return base64.b64decode(found.group(1), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise HeaderMismatch(f"Header mismatch: {header} is not valid base64") from None


def _as_header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def check(tool: Tool, arguments: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    """Raises ``HeaderMismatch`` unless every annotated argument's header matches the body."""
    for name, suffix in annotated(tool).items():
        header = f"Mcp-Param-{suffix}"
        raw = headers.get(PREFIX + suffix.lower())
        if name not in arguments or arguments[name] is None:
            if raw is not None:
                raise HeaderMismatch(f"Header mismatch: {header} is sent without '{name}'")
            continue
        if raw is None:
            raise HeaderMismatch(f"Header mismatch: {header} is missing")
        if _decoded(raw, header) != _as_header_text(arguments[name]):
            raise HeaderMismatch(f"Header mismatch: {header} differs from '{name}'")
