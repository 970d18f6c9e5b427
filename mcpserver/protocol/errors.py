"""The one error hierarchy of the MCP endpoint, and the one translator.

Every error a client can see is an ``McpError`` subclass with three class attributes:
``jsonrpc_code``, ``http_status`` and ``default_message``. ``translate`` turns any exception
into what goes on the wire: a JSON-RPC error object and an HTTP status. Anything that is not
an ``McpError`` is logged with its stack trace and becomes a bare -32603: internals never
reach a client.

This module imports nothing from the project, so tool sets may raise these errors too.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("mcpserver.protocol")


class McpError(Exception):
    jsonrpc_code: int = -32603
    # A fault of ours is a JSON-RPC -32603 in the body of a 200: clients never see a 500.
    http_status: int = 200
    default_message: str = "Internal error"
    # Transport errors keep their HTTP status in every era; protocol errors in the legacy era
    # travel in a 200 response, as the 2025 transports expect.
    transport: bool = False

    def __init__(self, message: str | None = None, *, data: Any = None) -> None:
        self.message = message or self.default_message
        self.data = data
        super().__init__(self.message)

    def to_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.jsonrpc_code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ParseError(McpError):
    jsonrpc_code = -32700
    http_status = 400
    default_message = "Parse error: the body is not valid JSON"
    transport = True


class InvalidRequest(McpError):
    jsonrpc_code = -32600
    http_status = 400
    default_message = "Invalid request: not a JSON-RPC 2.0 request object"
    transport = True


class BatchNotSupported(InvalidRequest):
    default_message = "Invalid request: JSON-RPC batches are not supported"


class MethodNotFound(McpError):
    jsonrpc_code = -32601
    http_status = 404
    default_message = "Method not found"


class InvalidParams(McpError):
    jsonrpc_code = -32602
    http_status = 400
    default_message = "Invalid params"


class InvalidRequestMeta(InvalidParams):
    """A 2026-07-28 request without the ``_meta`` every request must carry."""

    transport = True
    default_message = "Invalid params: _meta must carry protocolVersion and clientCapabilities"


class ResourceNotFound(InvalidParams):
    default_message = "Resource not found"


class HeaderMismatch(McpError):
    jsonrpc_code = -32020
    http_status = 400
    default_message = "Header mismatch: the HTTP headers disagree with the request body"
    transport = True


class MissingClientCapability(McpError):
    jsonrpc_code = -32021
    http_status = 400
    default_message = "The request needs a client capability that was not declared"
    transport = True

    def __init__(self, capabilities: dict[str, Any], message: str | None = None) -> None:
        super().__init__(message, data={"requiredCapabilities": capabilities})


class UnsupportedProtocolVersion(McpError):
    jsonrpc_code = -32022
    http_status = 400
    default_message = "Unsupported protocol version"
    transport = True

    def __init__(self, *, requested: str, supported: list[str]) -> None:
        super().__init__(data={"supported": supported, "requested": requested})


class InternalError(McpError):
    pass


class InsufficientScope(McpError):
    """The caller's credential lacks scopes an operation needs (HTTP 403 with a challenge)."""

    jsonrpc_code = -32001
    http_status = 403
    default_message = "Insufficient scope"
    transport = True

    def __init__(self, scopes: frozenset[str]) -> None:
        super().__init__(
            f"Insufficient scope: this needs {' '.join(sorted(scopes))}",
            data={"requiredScopes": sorted(scopes)},
        )
        self.scopes = scopes


class ToolError(Exception):
    """A tool ran and failed: reported as a result with ``isError: true`` and this message."""


def translate(exc: BaseException, *, legacy: bool = False) -> tuple[dict[str, Any], int]:
    """The JSON-RPC error object and HTTP status for any exception."""
    if not isinstance(exc, McpError):
        logger.error("Unhandled error in the MCP endpoint", exc_info=exc)
        exc = InternalError()
    status = exc.http_status
    if legacy and not exc.transport:
        status = 200
    return exc.to_error(), status
