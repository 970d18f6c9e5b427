"""JSON-RPC 2.0 message parsing: one object per body, no batches."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mcpserver.protocol.errors import BatchNotSupported, InvalidRequest, ParseError

RequestId = str | int


@dataclass(frozen=True, slots=True)
class Message:
    kind: str  # "request", "notification" or "response"
    raw: dict[str, Any]
    id: RequestId | None = None
    method: str = ""
    params: dict[str, Any] | None = None


def parse(body: bytes) -> Message:
    try:
        data = json.loads(body.decode())
    except (ValueError, UnicodeDecodeError):
        raise ParseError() from None
    return classify(data)


def classify(data: Any) -> Message:
    if isinstance(data, list):
        raise BatchNotSupported()
    if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
        raise InvalidRequest()
    has_id = "id" in data
    ident = data.get("id")
    if has_id and (isinstance(ident, bool) or not isinstance(ident, str | int)):
        raise InvalidRequest("Invalid request: id must be a string or an integer")
    method = data.get("method")
    if method is None:
        if has_id and ("result" in data) != ("error" in data):
            return Message("response", data, id=ident)
        raise InvalidRequest()
    if not isinstance(method, str) or not method:
        raise InvalidRequest("Invalid request: method must be a non-empty string")
    params = data.get("params")
    if params is not None and not isinstance(params, dict):
        raise InvalidRequest("Invalid request: params must be an object")
    kind = "request" if has_id else "notification"
    return Message(kind, data, id=ident, method=method, params=params or {})


def result_message(ident: RequestId | None, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "result": result}


def error_message(ident: RequestId | None, error: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "error": error}


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(message: dict[str, Any]) -> bytes:
    return _ENCODER.encode(message).encode()
