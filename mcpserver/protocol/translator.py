"""The one translator: any exception in, what the client is told out.

- ``answer``: the HTTP answer (status, body, headers) for an error, with the JSON-RPC id of
  the request when there is one. ``HttpRefusal`` gets its OAuth-style body; every other
  ``McpError`` a JSON-RPC error object; anything else is logged with its stack trace and
  becomes a bare -32603 (internals never reach a client).
- ``error_object``: the JSON-RPC error object alone (stdio, and streams already open).
- ``tool_failure``: what a failing tool handler becomes, a result with ``isError: true``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from mcpserver.eras import Era
from mcpserver.errors import Headers, InternalError, McpError, ToolError
from mcpserver.protocol.jsonrpc import RequestId, error_message
from mcpserver.refusals import HttpRefusal

logger = logging.getLogger("mcpserver.protocol")

NO_STORE: Headers = [(b"cache-control", b"no-store")]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any] | None
    headers: Headers


def _ours(exc: BaseException) -> McpError:
    if isinstance(exc, McpError):
        return exc
    logger.error("Unhandled error in the MCP endpoint", exc_info=exc)
    return InternalError()


def error_object(exc: BaseException, *, era: Era | None = None) -> tuple[dict[str, Any], int]:
    """The JSON-RPC error object and the HTTP status for any exception."""
    error = _ours(exc)
    status = error.http_status
    if era is Era.SESSION and not error.transport:
        status = 200
    return error.to_error(), status


def answer(exc: BaseException, ident: RequestId | None = None, *, era: Era | None = None) -> Answer:
    error = _ours(exc)
    if isinstance(error, HttpRefusal):
        return Answer(error.http_status, error.body(), NO_STORE + error.headers())
    body, status = error_object(error, era=era)
    return Answer(status, error_message(ident, body), error.headers())


def tool_failure(exc: BaseException, *, tool: str) -> dict[str, Any]:
    """A tool's failure as a result: its own message for a ``ToolError``, else a generic one."""
    if isinstance(exc, ToolError):
        text = exc.message
    else:
        logger.error("Tool %s failed", tool, exc_info=exc)
        text = ToolError.default_message
    return {"content": [{"type": "text", "text": text}], "isError": True}
