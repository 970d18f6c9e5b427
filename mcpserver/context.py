"""Per-request context (request id, client address) shared by logging and the audit log."""

import os
import re
from contextvars import ContextVar

from mcpserver.conf import mcp_settings

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_from_header(value: str | None) -> str:
    """Keep a caller's X-Request-ID when it is short and plain; otherwise make one."""
    if value and _REQUEST_ID_RE.match(value):
        return value
    return os.urandom(16).hex()  # as unguessable as a uuid4, at a quarter of the cost


def client_ip(*, peer: str | None, forwarded_for: str | None) -> str | None:
    """The client address, trusting X-Forwarded-For only as far as the configured proxies."""
    hops = mcp_settings.TRUSTED_PROXY_COUNT
    if hops and forwarded_for:
        chain = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return peer
