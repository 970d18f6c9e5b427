"""Running a task's work: in this process (the embedded default) or in a Celery worker.

``MCP_SERVER["TASKS_RUNNER"]``: ``"process"`` runs the tool in the accepting process's event
loop, after the CreateTaskResult is sent; ``"celery"`` enqueues ``mcpserver.run_tool_task``,
so the work outlives the instance that accepted it. Either way ``execute`` does the work from
the record alone (the job: tool, arguments, the caller's capabilities and principal), and
everything it learns from the client (answers, cancellation) it reads from the shared store,
so it can run anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from mcpserver.conf import mcp_settings
from mcpserver.eras import Era
from mcpserver.errors import InternalError, McpError
from mcpserver.process import process_state
from mcpserver.protocol import tasks
from mcpserver.protocol.translator import tool_failure
from sessions_store.errors import StoreUnavailable
from sessions_store.store import get_store
from tenants.principal import AuthMethod, Principal
from tools.context import ToolContext
from tools.errors import ToolError
from tools.registry import catalogue_for

logger = logging.getLogger("mcpserver.protocol")
T = TypeVar("T")

# Tasks running in this process, by (tenant id, task id): held so the event loop does not
# drop them half-way, and so a tasks/update or tasks/cancel answered here wakes them at once
# (a runner elsewhere finds the same news in the store at its next poll).
_running: dict[tuple[int, str], _Task] = process_state.cache("tasks.running")
_jobs: dict[asyncio.Future[None], str] = process_state.cache("tasks.jobs")


def nudge(tenant_id: int, task_id: str) -> None:
    """The client changed something about this task (answers, cancellation)."""
    task = _running.get((tenant_id, task_id))
    if task is not None:
        task.changed.set()


def principal_to_json(principal: Principal) -> dict[str, Any]:
    return {
        "tenant_id": principal.tenant_id,
        "tenant_slug": principal.tenant_slug,
        "subject": principal.subject,
        "auth_method": str(principal.auth_method),
        "fingerprint": principal.fingerprint,
        "scopes": sorted(principal.scopes),
        "email": principal.email,
        "expires_at": principal.expires_at.isoformat() if principal.expires_at else None,
        "credential_id": principal.credential_id,
    }


def principal_from_json(data: Mapping[str, Any]) -> Principal:
    expires = data.get("expires_at")
    return Principal(
        tenant_id=int(data["tenant_id"]),
        tenant_slug=str(data["tenant_slug"]),
        subject=str(data["subject"]),
        auth_method=AuthMethod(data["auth_method"]),
        fingerprint=str(data["fingerprint"]),
        scopes=frozenset(data.get("scopes") or ()),
        email=data.get("email"),
        expires_at=datetime.fromisoformat(expires) if expires else None,
        credential_id=str(data.get("credential_id") or ""),
    )


async def dispatch(tenant_id: int, task_id: str) -> None:
    """Hand a freshly created task to its runner."""
    if mcp_settings.TASKS_RUNNER == "celery":
        from mcpserver.tasks import run_tool_task

        # Publishing to the broker is blocking I/O: off the event loop.
        await asyncio.to_thread(run_tool_task.delay, tenant_id, task_id)
        return
    job = asyncio.ensure_future(execute(tenant_id, task_id))
    _jobs[job] = task_id
    job.add_done_callback(lambda done: _jobs.pop(done, None))


class _Task:
    """One task being executed: its record, kept in step with the shared store."""

    def __init__(self, tenant_id: int, task_id: str, record: dict[str, Any]) -> None:
        self.tenant_id = tenant_id
        self.task_id = task_id
        self.record = record
        self.round = 0
        self.store = get_store()
        self.changed = asyncio.Event()

    async def pause(self) -> None:
        """Until the client may have changed something, or the next poll."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), float(mcp_settings.TASK_RUNNER_POLL))
        self.changed.clear()

    async def cancelled(self) -> bool:
        return bool(await self.store.aget_json(tasks.cancel_key(self.tenant_id, self.task_id)))

    async def write(self, **changes: Any) -> None:
        self.record.update(changes, lastUpdatedAt=tasks.now())
        for gone in ("inputRequests", "result", "error"):
            if gone not in changes:
                self.record.pop(gone, None)
        key = tasks.record_key(self.tenant_id, self.task_id)
        await _persisting(
            lambda: self.store.aset_json(key, self.record, ttl=tasks.ttl_seconds(), strict=True)
        )

    async def park(self, requests: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """``request_input`` inside the task: input_required until every request is answered."""
        carried = self.record["job"].get("answers") or {}
        if all(isinstance(carried.get(key), Mapping) for key in requests):
            return {key: dict(carried[key]) for key in requests}
        self.round += 1
        # Ids minted per round, so an answer to an earlier round never satisfies a later one.
        minted = {f"r{self.round}.{key}": key for key in requests}
        await self.write(
            status="input_required", inputRequests={m: requests[k] for m, k in minted.items()}
        )
        while True:
            answered = await tasks.answers(self.tenant_id, self.task_id, minted)
            if all(m in answered for m in minted):
                break
            await self.pause()
        await self.write(status="working")
        return {key: answered[m] for m, key in minted.items()}

    async def watch_cancel(self, work: asyncio.Task[Any]) -> None:
        while not work.done():
            if await self.cancelled():
                work.cancel()
                return
            await self.pause()


# How long a runner waits between tries of a read or write of its task that the shared store
# could not take (a Redis stalled or restarting): about 10 s in all, then the failure stands.
_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.5, 3.0, 4.0)


async def _persisting(attempt: Callable[[], Awaitable[T]]) -> T:
    """``attempt()`` (a strict store call) until the store takes it, for a bounded time.

    A task's record is the only place its client learns anything: a write the store did not
    take leaves the task "working" for good (a client polling it never sees the input it must
    give), and a first read that failed would never start it. So a runner's reads and writes
    of the record are strict, and tried again rather than dropped.
    """
    for delay in _RETRY_DELAYS:
        try:
            return await attempt()
        except StoreUnavailable:  # each failed try is counted by the store itself
            await asyncio.sleep(delay)
    return await attempt()


async def execute(tenant_id: int, task_id: str) -> None:
    """Do a task's work and record its outcome; a task already settled is left alone."""
    store = get_store()
    key = tasks.record_key(tenant_id, task_id)
    try:
        record = await _persisting(lambda: store.aget_json(key, strict=True))
    except StoreUnavailable:
        logger.error("task %s not started: the shared store could not be read", task_id)
        return
    if not isinstance(record, dict) or record.get("status") in tasks.TERMINAL:
        return
    task = _Task(tenant_id, task_id, record)
    _running[(tenant_id, task_id)] = task
    try:
        await _execute(task)
    except StoreUnavailable:  # a write tried again for as long as it may be
        logger.error("task %s stopped: the shared store could not record its state", task_id)
    finally:
        _running.pop((tenant_id, task_id), None)


async def _execute(task: _Task) -> None:
    job = task.record["job"]
    tool = catalogue_for(tuple(job["toolsets"]), tuple(job["disabled"])).tools_by_name.get(
        job["tool"]
    )
    if tool is None:  # the tenant's selection changed since: nothing to run any more
        await task.write(status="failed", error=_error(InternalError("The tool is gone")))
        return
    ctx = ToolContext(
        principal=principal_from_json(job["principal"]),
        era=Era.STATELESS,
        client_capabilities=job.get("capabilities") or {},
        park=task.park,
    )
    work = asyncio.ensure_future(_run_tool(tool, ctx, job["arguments"]))
    watcher = asyncio.ensure_future(task.watch_cancel(work))
    try:
        outcome: dict[str, Any] = {"status": "completed", "result": await work}
    except asyncio.CancelledError:
        if not work.cancelled():
            raise
        outcome = {"status": "cancelled"}
    except McpError as exc:
        outcome = {"status": "failed", "error": _error(exc)}
    finally:
        watcher.cancel()
    if await task.cancelled():
        outcome = {"status": "cancelled"}
    await task.write(**outcome)


async def _run_tool(tool: Any, ctx: ToolContext, arguments: Mapping[str, Any]) -> dict[str, Any]:
    from mcpserver.protocol.methods import validate_arguments

    values = validate_arguments(tool, arguments)
    try:
        result: dict[str, Any] = await tool.handler(ctx, values)
    except ToolError as failure:
        return tool_failure(failure, tool=tool.name)
    except (McpError, asyncio.CancelledError):
        raise
    except Exception as exc:  # noqa: BLE001 (logged by the translator)
        return tool_failure(exc, tool=tool.name)
    return result


def _error(exc: McpError) -> dict[str, Any]:
    return exc.to_error()
