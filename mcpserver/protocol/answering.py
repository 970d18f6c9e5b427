"""Answer one JSON-RPC request on its ``Reply``, in either era."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from mcpserver.observability.requests import outcome_of, outcome_of_result
from mcpserver.protocol import dispatcher
from mcpserver.protocol.call import Call
from mcpserver.protocol.jsonrpc import notification, result_message
from mcpserver.protocol.relay import RequestCancelled
from mcpserver.protocol.sse import Reply
from mcpserver.protocol.translator import answer
from tools.context import Notify


def notifier(reply: Reply) -> Notify:
    async def notify(method: str, params: dict[str, Any]) -> None:
        await reply.push(notification(method, params))

    return notify


async def run(
    call: Call,
    reply: Reply,
    *,
    before_answer: Callable[[], Awaitable[None]] | None = None,
    cancellable: Callable[[Awaitable[dict[str, Any]]], Awaitable[dict[str, Any]]] | None = None,
) -> None:
    """Dispatch and answer; ``before_answer`` runs first (the client may leave once answered).

    With ``cancellable`` (sessions) the client may cancel the request by notification; a
    cancelled request gets no answer: its stream ends, or a bodiless 204.
    """
    work = dispatcher.dispatch(call)
    try:
        result = await (cancellable(work) if cancellable is not None else work)
    except asyncio.CancelledError:
        raise
    except RequestCancelled:
        _observe(call, "cancelled")
        if before_answer is not None:
            await before_answer()
        await reply.finish(None, 204)
        return
    except Exception as exc:  # noqa: BLE001 (the translator logs what is not ours)
        _observe(call, outcome_of(exc))
        failed = answer(exc, call.message.id, era=call.era)
        if before_answer is not None:
            await before_answer()
        await reply.finish(failed.body, failed.status, failed.headers)
        return
    _observe(call, outcome_of_result(result))
    if before_answer is not None:
        await before_answer()
    await reply.finish(result_message(call.message.id, result))


def _observe(call: Call, outcome: str) -> None:
    observed = call.observed
    if observed is None:
        return
    observed.outcome = outcome
    if call.message.method == "tools/call":
        name = call.params.get("name")
        # Only a tool the tenant has becomes a label: the client names the rest freely.
        if isinstance(name, str) and name in call.catalogue.tools_by_name:
            observed.tool = name
