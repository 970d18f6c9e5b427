"""The JSON specification of an HTTP tool, checked whole before anything is stored.

::

    {
      "name": "get_order",                      # tools/list name: letters, digits, _ and -
      "description": "Look up one order.",
      "title": "Get order",                     # optional
      "input_schema": {"type": "object", "properties": {"id": {"type": "string"}},
                       "required": ["id"]},
      "output_schema": {...},                   # optional: structuredContent must match it
      "annotations": {"readOnlyHint": true},    # optional
      "scopes": ["orders:read"],                # optional: what the caller's credential needs
      "method": "GET",                          # GET POST PUT PATCH DELETE
      "url": "https://api.example.com/orders/{id}",
      "query": {"expand": "{expand}", "format": "json"},
      "body": null,                             # or "arguments", or {"field": "{arg}", ...}
      "headers": {"Authorization": "Bearer {secret:ORDERS_TOKEN}"},
      "timeout": 10,                            # seconds
      "allow_private_network": false,
      "max_redirects": 0,                       # 0 to 3, each hop checked again
      "response": {"pointer": "/order", "structured": true}
    }

``{arg}`` takes an argument: in the URL path it must be a required argument (percent-encoded);
in ``query`` and ``body`` an entry whose argument is absent is left out, and a body value that
is exactly ``"{arg}"`` keeps the argument's JSON type. ``{secret:NAME}`` is expanded in header
values only. ``response.pointer`` (RFC 6901) picks part of a JSON answer; a JSON object becomes
``structuredContent`` unless ``structured`` is false, and the text content is the JSON.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from tenants.upstreams.spec import (
    ARG_REF_RE,
    HTTP_METHODS,
    HTTP_TOOL_NAME_RE,
    SECRET_REF_RE,
    validate_header_templates,
    validate_outbound_url,
    validate_timeout,
)
from tenants.validators import validate_scopes

KNOWN_KEYS = frozenset(
    {
        "name", "title", "description", "input_schema", "output_schema", "annotations",
        "scopes", "method", "url", "query", "body", "headers", "timeout",
        "allow_private_network", "max_redirects", "response",
    }
)  # fmt: skip
DEFAULTS: dict[str, Any] = {
    "input_schema": {"type": "object", "properties": {}},
    "method": "GET",
    "query": {},
    "body": None,
    "headers": {},
    "timeout": 10.0,
    "allow_private_network": False,
    "max_redirects": 0,
    "response": {},
    "scopes": [],
}


def validate_http_tool_name(value: Any) -> None:
    if not isinstance(value, str) or not HTTP_TOOL_NAME_RE.match(value):
        raise ValidationError(
            "An HTTP tool's name is 1 to 64 letters, digits, '_' or '-', starting with a letter "
            "(no dot: NAME.tool names belong to upstream servers).",
            code="invalid_tool_name",
        )


def _schema(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError({field: "A JSON Schema object."})
    try:
        Draft202012Validator.check_schema(value)
    except SchemaError as exc:
        raise ValidationError({field: f"Not a valid JSON Schema: {exc.message[:200]}"}) from exc
    if value.get("type") != "object":
        raise ValidationError({field: 'The schema of a tool\'s arguments has "type": "object".'})
    return value


def _check_url(url: Any, schema: dict[str, Any]) -> None:
    if not isinstance(url, str) or len(url) > 2000:
        raise ValidationError({"url": "The URL template is text of at most 2000 characters."})
    if SECRET_REF_RE.search(url):
        raise ValidationError({"url": "Secrets go in headers, never in the URL."})
    parts = urlsplit(url)
    if "{" in parts.netloc or "{" in parts.scheme:
        raise ValidationError({"url": "Arguments may fill the path, never the scheme or host."})
    try:
        validate_outbound_url(ARG_REF_RE.sub("x", url))
    except ValidationError as exc:
        raise ValidationError({"url": exc.messages}) from exc
    required = set(schema.get("required") or ())
    missing = [arg for arg in ARG_REF_RE.findall(parts.path) if arg not in required]
    if missing:
        raise ValidationError(
            {"url": f"Path arguments must be required in input_schema: {', '.join(missing)}."}
        )


def _check_mapping(value: Any, field: str) -> None:
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise ValidationError({field: "An object of names to values or {argument} templates."})
    for item in value.values():
        if isinstance(item, str) and SECRET_REF_RE.search(item):
            raise ValidationError({field: "Secrets go in headers only."})


def _check_response(value: Any) -> None:
    if not isinstance(value, dict) or set(value) - {"pointer", "structured"}:
        raise ValidationError({"response": 'An object with "pointer" and/or "structured".'})
    pointer = value.get("pointer", "")
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise ValidationError({"response": "pointer is a JSON pointer such as /data/items."})
    if not isinstance(value.get("structured", True), bool):
        raise ValidationError({"response": "structured is true or false."})


def _check_body(body: Any, method: str) -> None:
    if body is None:
        return
    if method == "GET":
        raise ValidationError({"body": "A GET request has no body."})
    if body != "arguments":
        _check_mapping(body, "body")


def normalized_http_tool_spec(spec: Any) -> dict[str, Any]:
    """The specification with defaults filled in; raises ``ValidationError`` naming every
    field to fix."""
    if not isinstance(spec, dict):
        raise ValidationError("An HTTP tool is a JSON object.")
    unknown = sorted(set(spec) - KNOWN_KEYS)
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(unknown)}.")
    out = {**DEFAULTS, **spec}
    validate_http_tool_name(out.get("name"))
    description = out.get("description")
    if not isinstance(description, str) or not description.strip() or len(description) > 4000:
        raise ValidationError({"description": "Say what the tool does (up to 4000 characters)."})
    schema = _schema(out["input_schema"], "input_schema")
    if out.get("output_schema") is not None:
        _schema(out["output_schema"], "output_schema")
    method = out["method"].upper() if isinstance(out["method"], str) else ""
    if method not in HTTP_METHODS:
        raise ValidationError({"method": f"One of {', '.join(HTTP_METHODS)}."})
    out["method"] = method
    _check_url(out.get("url"), schema)
    _check_mapping(out["query"], "query")
    _check_body(out["body"], method)
    try:
        validate_header_templates(out["headers"])
        validate_timeout(out["timeout"])
        validate_scopes(out["scopes"])
    except ValidationError as exc:
        raise ValidationError({"spec": exc.messages}) from exc
    if not isinstance(out["allow_private_network"], bool):
        raise ValidationError({"allow_private_network": "true or false."})
    redirects = out["max_redirects"]
    if isinstance(redirects, bool) or not isinstance(redirects, int) or not 0 <= redirects <= 3:
        raise ValidationError({"max_redirects": "0 to 3."})
    _check_response(out["response"])
    if out.get("annotations") is not None and not isinstance(out["annotations"], dict):
        raise ValidationError({"annotations": 'An object such as {"readOnlyHint": true}.'})
    return out


def flat_messages(error: ValidationError) -> list[str]:
    """``error``'s messages, each prefixed with its field: one field's worth of errors."""
    if hasattr(error, "error_dict"):
        return [f"{field}: {m}" for field, ms in error.message_dict.items() for m in ms]
    return list(error.messages)


def validate_http_tool_spec(value: Any) -> None:
    """The model field's validator: the stored spec, name included."""
    try:
        normalized_http_tool_spec(value)
    except ValidationError as exc:
        raise ValidationError(flat_messages(exc)) from exc
