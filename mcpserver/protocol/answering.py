"""Answer one JSON-RPC request on its ``Reply``, in either era.

The work (dispatch, then the answer written to the reply) runs in a task of its own when its
reply can be resumed (in the request's own task otherwise), so that:

- a client's ``notifications/cancelled``, on any instance, stops exactly that task
  (``cancellation``): the request gets no answer, its stream ends or it gets a bodiless 204;
- the client leaving (the consumer's task cancelled) stops it too, unless the reply was
  detached (SEP-1699: the server closed the connection, the client resumes the stream from
  the event log): then the work goes on, held by this process, and logs its answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mcpserver.observability.requests import outcome_of, outcome_of_result
from mcpserver.process import process_state
from mcpserver.protocol import cancellation, dispatcher
from mcpserver.protocol.call import Call
from mcpserver.protocol.jsonrpc import notification, result_message
from mcpserver.protocol.sse import Reply
from mcpserver.protocol.translator import answer
from tools.context import Notify

logger = logging.getLogger("mcpserver.protocol")

# Detached requests still running here: held so they are not collected mid-flight.
_detached: dict[asyncio.Task[None], None] = process_state.cache("answering.detached")


def notifier(reply: Reply) -> Notify:
    async def notify(method: str, params: dict[str, Any]) -> None:
        await reply.push(notification(method, params))

    return notify


class _Work:
    def __init__(
        self, call: Call, reply: Reply, before_answer: Callable[[], Awaitable[None]] | None
    ) -> None:
        self.call = call
        self.reply = reply
        self.before_answer = before_answer
        self.entry: cancellation.InFlight | None = None

    async def __call__(self) -> None:
        call = self.call
        status, headers = 200, None
        message: dict[str, Any] | None
        try:
            result = await dispatcher.dispatch(call)
        except asyncio.CancelledError:
            if self.entry is None or not self.entry.cancelled:
                raise
            # The client cancelled it: no answer, but the session's changes are kept.
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            _observe(call, "cancelled")
            # No answer: a request stream that ends without one (SSE), which every
            # Streamable HTTP client reads; a bodiless 204 made the SDK's reader fail.
            message, status, headers = None, 200, [(b"content-type", b"text/event-stream")]
        except Exception as exc:  # noqa: BLE001 (the translator logs what is not ours)
            _observe(call, outcome_of(exc))
            failed = answer(exc, call.message.id, era=call.era)
            message, status, headers = failed.body, failed.status, failed.headers
        else:
            _observe(call, outcome_of_result(result))
            message = result_message(call.message.id, result)
        if self.entry is not None:
            self.entry.release()  # answering now: a late cancellation must not cut the answer
        if self.before_answer is not None:
            await self.before_answer()
        await self.reply.finish(message, status, headers)


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


async def run(
    call: Call,
    reply: Reply,
    *,
    key: cancellation.Key | None = None,
    before_answer: Callable[[], Awaitable[None]] | None = None,
    poll_after: float | None = None,
    leaving_cancels_after: float | None = None,
) -> None:
    """Dispatch and answer; ``before_answer`` runs first (the client may leave once answered).

    ``key``: the request can be cancelled by notification. ``poll_after``: a request still
    running after this many seconds has its reply detached, if it can be.
    ``leaving_cancels_after``: a request still running after this many seconds is cancelled
    when its client closes the connection, even before any response has started (2026-07-28:
    closing the response is the cancellation, and a JSON answer not yet sent is a response
    the client can only close); a quicker one never starts listening, so most calls pay for
    no listener.
    """
    work = _Work(call, reply, before_answer)
    if not reply.resumable:
        # A reply that cannot be resumed is never detached: the work runs in this task (the
        # client leaving cancels it, a cancellation names it): no task of its own to start
        # and schedule, no asyncio.wait.
        task = asyncio.current_task()
        work.entry = cancellation.register(key, task, until_done=False) if task else None
        listen = None
        if leaving_cancels_after is not None:
            listen = asyncio.get_running_loop().call_later(
                leaving_cancels_after, reply.watch_client
            )
        try:
            await work()
        finally:
            if listen is not None:
                listen.cancel()
            if work.entry is not None:
                work.entry.release()
        return
    job = asyncio.ensure_future(work())
    work.entry = cancellation.register(key, job)
    detached = asyncio.ensure_future(reply.detached.wait())
    try:
        done, _ = await asyncio.wait(
            {job, detached}, timeout=poll_after, return_when=asyncio.FIRST_COMPLETED
        )
        if not done and not await reply.detach():
            await asyncio.wait({job, detached}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        if not reply.detached.is_set():
            job.cancel()
        else:
            _hold(job)
        raise
    finally:
        detached.cancel()
    if job.done():
        job.result()
    else:
        _hold(job)


def _hold(job: asyncio.Task[None]) -> None:
    _detached[job] = None
    job.add_done_callback(_finished)


def _finished(job: asyncio.Task[None]) -> None:
    _detached.pop(job, None)
    if not job.cancelled() and job.exception() is not None:
        logger.error("a detached request failed", exc_info=job.exception())
