"""Every error a client can see, in one hierarchy.

Each class says how it is answered with three class attributes, ``jsonrpc_code``,
``http_status`` and ``default_message``, plus, where it applies, the headers that go with it
(a ``WWW-Authenticate`` challenge, ``Allow``, ``Retry-After``). One translator,
``mcpserver.protocol.translator``, turns any of them (and anything else) into what goes on the
wire; nothing builds an error answer by hand.

Two families:
- ``McpError`` proper is answered as a JSON-RPC error object (HTTP 200 in a legacy session
  unless ``transport`` says the status belongs to the transport);
- ``HttpRefusal`` (``mcpserver.refusals``, its own module) is answered before any JSON-RPC
  message is read (Host, Origin, tenant, credential), with an OAuth-style body
  ``{"error": ..., "error_description": ...}``.

This module imports nothing from the project but settings: every layer may raise these.
"""

from __future__ import annotations

from typing import Any

from mcpserver.conf import mcp_settings

Headers = list[tuple[bytes, bytes]]


class McpError(Exception):
    jsonrpc_code: int = -32603
    # A fault of ours is a JSON-RPC -32603 in the body of a 200: clients never see a 500.
    http_status: int = 200
    default_message: str = "Internal error"
    # Transport errors keep their HTTP status in every era; protocol errors in a legacy session
    # travel in a 200 response, as the 2025 transports expect.
    transport: bool = False

    def __init__(self, message: str | None = None, *, data: Any = None) -> None:
        self.message = message or self.default_message
        self.data = data
        self.challenge: str | None = None
        super().__init__(self.message)

    def to_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.jsonrpc_code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error

    def headers(self) -> Headers:
        if self.challenge is None:
            return []
        return [(b"www-authenticate", self.challenge.encode("ascii"))]

    def with_challenge(self, challenge: str) -> McpError:
        """The same error, answered with this ``WWW-Authenticate`` value."""
        self.challenge = challenge
        return self


class InternalError(McpError):
    pass


# ----- JSON-RPC and transport ------------------------------------------------------------


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


class TooDeeplyNested(InvalidRequest):
    default_message = "Invalid request: the message is nested too deeply"


class UnsupportedMediaType(InvalidRequest):
    http_status = 415
    default_message = "Unsupported media type: send application/json"


class NotAcceptable(InvalidRequest):
    http_status = 406
    default_message = "Not acceptable: a GET stream needs Accept: text/event-stream"


class PayloadTooLarge(InvalidRequest):
    http_status = 413
    default_message = "Request body too large"


class MethodNotAllowed(InvalidRequest):
    http_status = 405
    default_message = "Method not allowed"

    def __init__(self, allow: str = "POST") -> None:
        super().__init__()
        self.allow = allow

    def headers(self) -> Headers:
        return [(b"allow", self.allow.encode("ascii"))]


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


class InsufficientScope(McpError):
    """The credential lacks scopes the operation needs: 403 with an ``insufficient_scope``
    challenge naming every needed scope (``tenants.auth.authorize`` raises it)."""

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


# ----- legacy sessions -------------------------------------------------------------------


class SessionRequired(InvalidRequest):
    default_message = "Bad request: Mcp-Session-Id is required (initialize first)"


class SessionNotFound(McpError):
    """Unknown, ended, or another credential's: the client starts a new session. -32001 is
    the code the official SDKs use for it."""

    jsonrpc_code = -32001
    http_status = 404
    default_message = "Session not found"
    transport = True


class Unavailable(McpError):
    """A part we depend on is down for now: 503 and when to try again, never a 404 or 500."""

    jsonrpc_code = -32603
    http_status = 503
    default_message = "Temporarily unavailable, retry shortly"
    transport = True
    retry_after: int = 2

    def headers(self) -> Headers:
        return [(b"retry-after", str(self.retry_after).encode()), *super().headers()]


class DatabaseUnreachable(Unavailable):
    """The database stopped answering while a tool, resource or prompt was using it: "not
    now", a JSON-RPC error and ``Retry-After``, not a tool that failed (nor a 500)."""

    default_message = "The database is unavailable right now; try again shortly."

    def __init__(self, message: str | None = None, *, data: Any = None) -> None:
        super().__init__(message, data=data)
        self.retry_after = int(mcp_settings.DATABASE_RETRY_AFTER)


class StreamLimitReached(Unavailable):
    """This process holds as many event streams as it allows (in all, or for the tenant);
    another instance may have room."""

    jsonrpc_code = -32000
    default_message = "Server busy: too many open streams; retry later"
    retry_after = 5


class RateLimited(McpError):
    """The tenant or the credential has used its request budget (``tenants.ratelimit``): 429,
    with ``Retry-After`` in whole seconds (rounded up) until the next request passes."""

    # In JSON-RPC's implementation-defined server range; 29 echoes HTTP 429.
    jsonrpc_code = -32029
    http_status = 429
    default_message = "Too many requests; retry later"
    transport = True

    def __init__(self, *, retry_after: int, limit: str, scope: str, described: str) -> None:
        super().__init__(
            f"Rate limit exceeded for this {scope} ({described}); retry in {retry_after} s.",
            data={"retryAfter": retry_after, "limit": limit, "scope": scope},
        )
        self.retry_after = retry_after
        self.scope = scope

    def headers(self) -> Headers:
        return [(b"retry-after", str(self.retry_after).encode()), *super().headers()]


# ----- tools -----------------------------------------------------------------------------


class ToolError(McpError):
    """A tool ran and failed: answered as a result with ``isError: true`` and this message,
    which the tool author writes for the end user."""

    default_message = "The tool failed."


class UpstreamFailed(McpError):
    """A tenant's upstream server could not answer a resource read or a prompt: a JSON-RPC
    error (in the body of a 200) with a message that names the upstream and what happened,
    never its address or credentials."""

    default_message = "The upstream server failed."
