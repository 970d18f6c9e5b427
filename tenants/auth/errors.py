"""Authentication failures, in the vocabulary of RFC 6750 and RFC 9728.

Each failure carries what the client may see (the error code and a short description) and
nothing else: the reason that only the server should know goes to the audit log, never into a
response.
"""


class AuthFailure(Exception):
    """A request the authenticator refuses; the middleware turns it into a 401 or 403."""

    http_status = 401
    error = "invalid_token"
    default_description = "The access token is invalid."

    def __init__(self, description: str | None = None, *, reason: str = "") -> None:
        self.description = description or self.default_description
        # Recorded in the audit log; never sent to the client.
        self.reason = reason or self.description
        super().__init__(self.description)


class MissingCredential(AuthFailure):
    """No credential at all: RFC 6750 section 3.1 says the challenge carries no error code."""

    error = ""
    default_description = "Authentication is required."


class InvalidToken(AuthFailure):
    pass


class InvalidRequest(AuthFailure):
    """A credential sent the wrong way (in the query string, or an unreadable header)."""

    error = "invalid_request"
    default_description = "Send the credential in the Authorization header as a Bearer token."


class InsufficientScope(AuthFailure):
    http_status = 403
    error = "insufficient_scope"
    default_description = "The access token lacks a scope this request needs."

    def __init__(self, scopes: frozenset[str] | set[str], description: str | None = None) -> None:
        self.scopes = frozenset(scopes)
        super().__init__(description)
