"""What a tool handler gets besides its arguments: who asks, and how to talk back.

``request_input`` hides the difference between the two protocol eras. In 2026-07-28 it either
returns the client's answers (a retried request carrying ``inputResponses``) or raises
``InputRequired``, which the dispatcher turns into an ``InputRequiredResult`` with a sealed
``requestState``. In 2025-11-25 it sends real server-to-client requests on the request's
stream and waits for their answers, which may arrive at another instance.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mcpserver.eras import Era
from tenants.principal import Principal
from tools.errors import MissingClientCapability

LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")

# Which client capability each server-to-client request needs.
CAPABILITY_FOR_METHOD = {
    "sampling/createMessage": "sampling",
    "elicitation/create": "elicitation",
    "roots/list": "roots",
}

Notify = Callable[[str, dict[str, Any]], Awaitable[None]]
Ask = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
# Inside a task (tasks extension): park the task as input_required until the client answers
# every request through tasks/update, then return the answers.
Park = Callable[[dict[str, dict[str, Any]]], Awaitable[dict[str, Any]]]


class InputRequired(Exception):
    """Raised by ``ToolContext.request_input`` in the stateless era; never reaches a client."""

    def __init__(self, requests: dict[str, dict[str, Any]], state: Any = None) -> None:
        super().__init__("input required")
        self.requests = requests
        self.state = state


async def _no_notify(method: str, params: dict[str, Any]) -> None:
    return None


@dataclass
class ToolContext:
    principal: Principal
    era: Era
    client_capabilities: Mapping[str, Any] = field(default_factory=dict)
    progress_token: str | int | None = None
    log_level: str | None = None
    # 2026-07-28 multi round-trip: answers to earlier input requests and the state carried
    # through (already checked for integrity, principal, request and age).
    input_responses: Mapping[str, Any] | None = None
    state: Any = None
    notify: Notify = _no_notify
    ask: Ask | None = None
    park: Park | None = None
    # 2025-11-25 (SEP-1699): close the request's stream now; the client resumes it later.
    detach: Callable[[], Awaitable[bool]] | None = None
    _last_progress: float = field(default=float("-inf"), repr=False)

    def require_capability(self, name: str) -> None:
        if name not in self.client_capabilities:
            raise MissingClientCapability({name: {}})

    async def progress(
        self, progress: float, total: float | None = None, message: str = ""
    ) -> None:
        """Report progress when the client asked for it; values must strictly increase."""
        if self.progress_token is None or progress <= self._last_progress:
            return
        self._last_progress = progress
        params: dict[str, Any] = {"progressToken": self.progress_token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message:
            params["message"] = message
        await self.notify("notifications/progress", params)

    async def log(self, level: str, data: Any, *, logger: str | None = None) -> None:
        """Send a log message when the client's level lets it through (none without a level)."""
        if self.log_level is None or level not in LOG_LEVELS:
            return
        if LOG_LEVELS.index(level) < LOG_LEVELS.index(self.log_level):
            return
        params: dict[str, Any] = {"level": level, "data": data}
        if logger:
            params["logger"] = logger
        await self.notify("notifications/message", params)

    async def close_stream(self) -> bool:
        """Close this request's stream before the answer, for the client to poll (SEP-1699).

        What the tool sends afterwards, its answer included, reaches the client when it
        resumes the stream (GET with ``Last-Event-ID``, on any instance). False, and nothing
        changes, where the stream cannot be resumed (2026-07-28, older session versions, a
        client that takes no streams).
        """
        return False if self.detach is None else await self.detach()

    async def request_input(
        self, requests: dict[str, dict[str, Any]], *, state: Any = None
    ) -> dict[str, Any]:
        """Ask the client for input; returns the answers keyed as ``requests`` is."""
        for request in requests.values():
            capability = CAPABILITY_FOR_METHOD.get(request.get("method", ""))
            if capability:
                self.require_capability(capability)
        if self.park is not None:
            return await self.park(requests)
        if self.era is Era.STATELESS:
            answers = self.input_responses or {}
            if all(isinstance(answers.get(key), Mapping) for key in requests):
                return {key: dict(answers[key]) for key in requests}
            raise InputRequired(requests, state)
        if self.ask is None:
            raise MissingClientCapability({"streaming": {}}, "This request needs a stream")
        return {
            key: await self.ask(request["method"], dict(request.get("params") or {}))
            for key, request in requests.items()
        }
