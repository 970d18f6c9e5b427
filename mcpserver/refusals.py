"""Refusals answered before any JSON-RPC message is read: Host, Origin, tenant, credential.

Part of the one hierarchy (``mcpserver.errors``): each is an ``McpError`` that the one
translator answers, here with an OAuth-style body ``{"error": ..., "error_description":
...}``, no-store, and the challenge or ``Retry-After`` that goes with it. Like ``errors``,
this module imports nothing from the project beyond it: every layer may raise these.
"""

from __future__ import annotations

from mcpserver.errors import McpError, Unavailable


class HttpRefusal(McpError):
    """Answered with ``{"error": error, "error_description": message}`` and no-store."""

    transport = True
    error = "invalid_request"

    def __init__(
        self, message: str | None = None, *, reason: str = "", client_text: str = ""
    ) -> None:
        super().__init__(message)
        # What the audit log records; never sent to the client. Always the server's own words:
        # text the client sent (a header value, a parser's complaint about it) goes in
        # client_text, which the audit log keeps apart, quoted, cleaned and bounded.
        self.reason = reason or self.message
        self.client_text = client_text

    @property
    def description(self) -> str:
        return self.message

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.message:
            body["error_description"] = self.message
        return body


class HostNotAllowed(HttpRefusal):
    http_status = 403
    error = "forbidden"
    default_message = "Host not allowed."


class OriginNotAllowed(HttpRefusal):
    http_status = 403
    error = "forbidden"
    default_message = "Origin not allowed."


class MetricsForbidden(HttpRefusal):
    """/metrics from a caller neither on loopback, nor in MCP_METRICS_ALLOW, nor holding the
    metrics token: one answer for all three, so it tells nothing about the token."""

    http_status = 403
    error = "forbidden"
    default_message = "Metrics are not available to this caller."


class TenantNotFound(HttpRefusal):
    """Unknown and suspended tenants get the same answer."""

    http_status = 404
    error = "not_found"
    default_message = ""


class ServiceUnavailable(HttpRefusal, Unavailable):
    http_status = 503
    error = "temporarily_unavailable"
    default_message = "The service is temporarily unavailable; retry shortly."


class AuthFailure(HttpRefusal):
    """A credential the server refuses: 401 with a Bearer challenge (RFC 6750, RFC 9728)."""

    http_status = 401
    error = "invalid_token"
    default_message = "The access token is invalid."

    def body(self) -> dict[str, str]:
        return {"error": self.error or "unauthorized", "error_description": self.message}


class MissingCredential(AuthFailure):
    """No credential at all: RFC 6750 section 3.1 says the challenge carries no error code."""

    error = ""
    default_message = "Authentication is required."


class InvalidToken(AuthFailure):
    pass


class InvalidCredentialRequest(AuthFailure):
    """A credential sent the wrong way (in the query string, or an unreadable header)."""

    error = "invalid_request"
    default_message = "Send the credential in the Authorization header as a Bearer token."
