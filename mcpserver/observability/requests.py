"""What the metrics say about one request to an MCP endpoint, filled in as the request goes.

The endpoint makes one ``Observed`` per HTTP request (its clock starts then), the era and the
method are noted when the message is read, the outcome where the answer is decided, and
``finish`` records it once the answer has been sent. Only bounded words become labels: a
method the dispatcher does not serve is ``unknown``, a tool the tenant's catalogue does not
hold is ``-``.
"""

from __future__ import annotations

import time
from typing import Any

from mcpserver.errors import McpError, RateLimited
from mcpserver.observability.series import observe_request

UNKNOWN = "unknown"
NONE = "-"


def outcome_of(exc: BaseException) -> str:
    """A fixed word for an error answer."""
    if isinstance(exc, RateLimited):
        return "rate_limited"
    if isinstance(exc, McpError):
        if exc.http_status in (401, 403):
            return "refused"
        return "internal" if exc.jsonrpc_code == -32603 else "error"
    return "internal"


def outcome_of_result(result: dict[str, Any]) -> str:
    if result.get("resultType") == "input_required":
        return "input_required"
    return "tool_error" if result.get("isError") is True else "ok"


class Observed:
    __slots__ = ("era", "method", "outcome", "started", "stream", "tenant", "tool")

    def __init__(self, tenant: str, method: str) -> None:
        self.tenant = tenant
        self.started = time.perf_counter()
        self.era = NONE
        self.method = method  # the HTTP method until a JSON-RPC message names one
        self.tool = NONE
        self.outcome = "ok"
        self.stream = False

    def message(self, era: str, method: str) -> None:
        self.era = era
        self.method = method

    def failed(self, exc: BaseException) -> None:
        self.outcome = outcome_of(exc)

    def finish(self) -> None:
        seconds = None if self.stream else time.perf_counter() - self.started
        observe_request(
            tenant=self.tenant,
            era=self.era,
            method=self.method,
            tool=self.tool,
            outcome=self.outcome,
            seconds=seconds,
        )
