"""Calling an upstream server's tool, resource or prompt for a downstream request.

Each call opens its own connection (``connection.connect``) with the era the listing found,
so nothing of one tenant's call lingers for another, and closes it when done: a legacy
session is ended with DELETE, and a downstream cancellation (its stream closed, or a
``notifications/cancelled``) cancels the task running here, which closes the upstream
request too.

The upstream may ask for input mid-call (elicitation, sampling). ``InputBridge`` hands the
question to the downstream client through ``ToolContext.request_input``, so the eras need
not match: a 2025-11-25 client is asked on its stream at once; a 2026-07-28 client gets an
``InputRequiredResult`` whose sealed ``requestState`` carries the answers so far. The
upstream call is then abandoned, and run again when the client retries, each question
answered from the answers collected (which suits tools that ask before they act, as
well-behaved interactive tools do).

Whatever comes back has the tenant's secret values scrubbed out, in case the upstream
echoes a header.

List-changed notifications seen on any connection drop the cached listing on every
instance and are passed on to the tenant's clients (``listing.changed``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import mcp_types as types

from tenants.toolaudit import UpstreamCall, upstream_call
from tenants.upstreams.config import UpstreamConfig
from tools.context import InputRequired, ToolContext
from tools.errors import ToolError, UpstreamFailed
from tools.upstream import listing
from tools.upstream.connection import Deadline, UpstreamFailure, connect, dump, failure, scrubbed

_CHANGED = (
    types.ToolListChangedNotification,
    types.ResourceListChangedNotification,
    types.PromptListChangedNotification,
)


class InputBridge:
    """Answers an upstream's input requests by asking the downstream client."""

    def __init__(self, ctx: ToolContext, deadline: Deadline) -> None:
        self.ctx = ctx
        self.deadline = deadline
        self.asked = 0
        self.needed: InputRequired | None = None
        state = ctx.state if isinstance(ctx.state, Mapping) else {}
        self.answers: dict[str, Any] = dict(state.get("upstream_answers") or {})
        self.answers.update(
            {k: dict(v) for k, v in (ctx.input_responses or {}).items() if isinstance(v, Mapping)}
        )

    async def ask(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        key = f"upstream-{self.asked}"
        self.asked += 1
        if key in self.answers:
            return dict(self.answers[key])
        self.deadline.pause()
        try:
            answers = await self.ctx.request_input(
                {key: {"method": method, "params": params}},
                state={"upstream_answers": self.answers},
            )
        except InputRequired as needed:
            # 2026-07-28 downstream: answered by the client's retry; this attempt is over.
            self.needed = needed
            self.deadline.scope.cancel()
            raise
        finally:
            self.deadline.resume()
        return dict(answers[key])

    def callbacks(self) -> dict[str, Any]:
        """SDK callbacks for what the downstream client can answer (and nothing more, so the
        upstream is never told of a capability the client lacks)."""
        out: dict[str, Any] = {}
        capabilities = self.ctx.client_capabilities

        async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
            answer = await self.ask("elicitation/create", dump(params))
            return types.ElicitResult.model_validate(answer)

        async def sample(
            context: Any, params: types.CreateMessageRequestParams
        ) -> types.CreateMessageResult:
            answer = await self.ask("sampling/createMessage", dump(params))
            return types.CreateMessageResult.model_validate(answer)

        if "elicitation" in capabilities:
            out["elicitation_callback"] = elicit
        if "sampling" in capabilities:
            out["sampling_callback"] = sample
        return out


async def _run(
    upstream: UpstreamConfig,
    ctx: ToolContext,
    era: listing.Era,
    work: Callable[[Any], Awaitable[Any]],
) -> dict[str, Any]:
    """``work(client)`` on a fresh connection; its result as a dict with the tenant's secrets
    scrubbed from it. Notes the upstream's latency and error for the call's audit record."""
    noted = UpstreamCall(name=upstream.name)
    upstream_call.set(noted)
    tenant_id = ctx.principal.tenant_id
    deadline = Deadline(upstream.timeout)
    bridge = InputBridge(ctx, deadline)
    started = time.monotonic()
    expanded = None

    async def on_notification(message: Any) -> None:
        if isinstance(message, _CHANGED):
            await listing.changed(tenant_id, upstream, message.method)

    try:
        with deadline:
            async with connect(
                upstream,
                tenant_id=tenant_id,
                mode=era.mode,
                discover=era.discover,
                on_notification=on_notification,
                callbacks=bridge.callbacks(),
            ) as (client, expanded):
                result = await work(client)
        if bridge.needed is not None:
            raise bridge.needed
        if deadline.expired:
            raise UpstreamFailure(upstream.name, f"did not answer within {upstream.timeout:g} s")
    except InputRequired:
        raise
    except Exception as exc:  # noqa: BLE001 (every failure becomes a safe message)
        if bridge.needed is not None:
            raise bridge.needed from None
        problem = failure(upstream, exc, expanded)
        noted.error = problem.what[:300]
        raise problem from None
    finally:
        noted.latency_ms = (time.monotonic() - started) * 1000
    dumped = dump(result) if hasattr(result, "model_dump") else dict(result)
    return scrubbed(dumped, expanded)


def _tool_result(raw: dict[str, Any]) -> dict[str, Any]:
    # The upstream's own _meta (its server info, its cache hints) is not ours to pass on.
    out: dict[str, Any] = {"content": list(raw.get("content") or [])}
    if raw.get("structuredContent") is not None:
        out["structuredContent"] = raw["structuredContent"]
    if raw.get("isError"):
        out["isError"] = True
    return out


async def call_tool(
    upstream: UpstreamConfig,
    remote: str,
    era: listing.Era,
    ctx: ToolContext,
    args: Mapping[str, Any],
) -> dict[str, Any]:
    """The handler of ``NAME.remote``: an upstream failure is an ``isError`` result."""
    try:
        raw = await _run(upstream, ctx, era, lambda c: c.call_tool(remote, dict(args)))
    except UpstreamFailure as problem:
        raise ToolError(str(problem)) from None
    return _tool_result(raw)


async def read_resource(
    upstream: UpstreamConfig, era: listing.Era, ctx: ToolContext, uri: str, *_: Any
) -> list[dict[str, Any]]:
    try:
        raw = await _run(upstream, ctx, era, lambda c: c.read_resource(uri))
    except UpstreamFailure as problem:
        raise UpstreamFailed(str(problem)) from None
    return list(raw.get("contents") or [])


async def get_prompt(
    upstream: UpstreamConfig,
    remote: str,
    era: listing.Era,
    ctx: ToolContext,
    args: Mapping[str, str],
) -> dict[str, Any]:
    try:
        raw = await _run(upstream, ctx, era, lambda c: c.get_prompt(remote, dict(args)))
    except UpstreamFailure as problem:
        raise UpstreamFailed(str(problem)) from None
    out: dict[str, Any] = {"messages": list(raw.get("messages") or [])}
    if raw.get("description"):
        out["description"] = raw["description"]
    return out
