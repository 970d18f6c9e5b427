"""The tasks extension (``io.modelcontextprotocol/tasks``, 2026-07-28): state and methods.

A task is three entries in the shared store, so any instance answers for any task:
- the record (status, timestamps, the inlined result, error or pending ``inputRequests``, and
  the job a runner needs to do the work), written by whoever runs the task;
- the client's answers to pending input requests, written by ``tasks/update``, each under a
  key of its own: an update writes only what it answers and never reads first, so two updates
  (or one whose read failed while Redis stalled) cannot erase each other's answers;
- a cancellation mark, written by ``tasks/cancel``.
Keeping the client's writes apart from the runner's means neither overwrites the other, and a
runner in another process (a Celery worker) only has to read them.

A task belongs to the tenant and the principal that created it: the key carries the tenant,
the record the principal's owner digest, and a task of someone else is answered exactly as an
unknown one (-32602), so its existence is not revealed.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mcpserver.conf import mcp_settings
from mcpserver.errors import InvalidParams, MissingClientCapability
from mcpserver.protocol import task_runner
from mcpserver.protocol.call import Call
from sessions_store.store import get_store
from tenants.principal import Principal
from tools.registry import Tool

EXTENSION = "io.modelcontextprotocol/tasks"
TERMINAL = frozenset({"completed", "failed", "cancelled"})
REQUIRED_CAPABILITIES: dict[str, Any] = {"extensions": {EXTENSION: {}}}


def record_key(tenant_id: int, task_id: str) -> str:
    return f"mcp:task:{tenant_id}:{task_id}"


def answer_key(tenant_id: int, task_id: str, request_id: str) -> str:
    return f"mcp:task:{tenant_id}:{task_id}:answer:{request_id}"


def legacy_answers_key(tenant_id: int, task_id: str) -> str:
    """Where a release before per-request answer keys kept all of a task's answers."""
    return f"mcp:task:{tenant_id}:{task_id}:answers"


async def answers(tenant_id: int, task_id: str, request_ids: Any) -> dict[str, Any]:
    """The client's answers to these input requests, by request id; a read that fails (Redis
    stalled) is no answer yet, and the runner asks again at its next poll."""
    store = get_store()
    wanted = list(request_ids)
    # Side by side: read in the same event-loop tick, they share one Redis round trip.
    *values, legacy = await asyncio.gather(
        *(store.aget_json(answer_key(tenant_id, task_id, r)) for r in wanted),
        store.aget_json(legacy_answers_key(tenant_id, task_id)),
    )
    legacy = legacy if isinstance(legacy, dict) else {}  # a previous release: one entry
    found: dict[str, Any] = {}
    for request_id, value in zip(wanted, values, strict=True):
        value = value if isinstance(value, dict) else legacy.get(request_id)
        if isinstance(value, dict):
            found[request_id] = value
    return found


def cancel_key(tenant_id: int, task_id: str) -> str:
    return f"mcp:task:{tenant_id}:{task_id}:cancel"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ttl_seconds() -> float:
    return float(mcp_settings.TASK_TTL)


def owner_of(principal: Principal) -> str:
    """Who owns a task: the tenant and the subject, not the credential (a user whose token was
    refreshed still sees their tasks)."""
    text = f"{principal.tenant_id}|{principal.auth_method}|{principal.subject}"
    return hashlib.sha256(text.encode()).hexdigest()


def negotiated(call: Call) -> bool:
    """Whether this request's client declared the tasks extension (per request, 2026-07-28)."""
    if not call.stateless:
        return False
    capabilities = call.context().client_capabilities
    extensions = capabilities.get("extensions")
    return isinstance(extensions, Mapping) and EXTENSION in extensions


def require_negotiated(call: Call) -> None:
    if not negotiated(call):
        raise MissingClientCapability(
            REQUIRED_CAPABILITIES, "The tasks extension was not declared by the client"
        )


def envelope(task_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The Task fields every task answer carries."""
    out: dict[str, Any] = {
        "taskId": task_id,
        "status": record["status"],
        "createdAt": record["createdAt"],
        "lastUpdatedAt": record["lastUpdatedAt"],
        "ttlMs": record["ttlMs"],
        "pollIntervalMs": record["pollIntervalMs"],
    }
    if record.get("statusMessage"):
        out["statusMessage"] = record["statusMessage"]
    return out


async def create(
    call: Call, tool: Tool, arguments: Mapping[str, Any], answers: Any
) -> dict[str, Any]:
    """Create a task for ``tool`` and hand it to a runner; the CreateTaskResult.

    The record is written with ``strict``: a CreateTaskResult is only returned once a
    ``tasks/get`` for it would resolve, on any instance.
    """
    task_id = secrets.token_urlsafe(18)
    stamp = now()
    context = call.context()
    record = {
        "owner": owner_of(call.principal),
        "status": "working",
        "createdAt": stamp,
        "lastUpdatedAt": stamp,
        "ttlMs": int(ttl_seconds() * 1000),
        "pollIntervalMs": int(mcp_settings.TASK_POLL_INTERVAL_MS),
        "job": {
            "tool": tool.name,
            "arguments": dict(arguments),
            "capabilities": dict(context.client_capabilities),
            "toolsets": list(call.toolsets),
            "disabled": list(call.tenant.disabled_tools),
            "principal": task_runner.principal_to_json(call.principal),
            "answers": answers if isinstance(answers, dict) else {},
        },
    }
    await get_store().aset_json(
        record_key(call.principal.tenant_id, task_id), record, ttl=ttl_seconds(), strict=True
    )
    await task_runner.dispatch(call.principal.tenant_id, task_id)
    return {"resultType": "task", **envelope(task_id, record)}


async def start(call: Call, tool: Tool, arguments: dict[str, Any]) -> dict[str, Any] | None:
    """A task-capable tool called by a client with the tasks extension: a task (or first the
    input it gathers before one); without the extension None (run it now), or -32021 for a
    tool that only runs as a task."""
    if not negotiated(call):
        if tool.task_support == "required":
            raise MissingClientCapability(REQUIRED_CAPABILITIES)
        return None
    for capability in tool.required_client_capabilities:
        call.context().require_capability(capability)
    answers = call.params.get("inputResponses")
    if answers is not None and not isinstance(answers, dict):
        raise InvalidParams("Invalid params: inputResponses must be an object")
    needed = dict(tool.task_inputs or {})
    if needed and not all(isinstance((answers or {}).get(key), dict) for key in needed):
        return {"resultType": "input_required", "inputRequests": _thawed(needed)}
    return await create(call, tool, arguments, answers)


def _thawed(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thawed(v) for v in value]
    return value


def _task_id(call: Call) -> str:
    task_id = call.params.get("taskId")
    if not isinstance(task_id, str) or not task_id or len(task_id) > 128:
        raise InvalidParams("Invalid params: 'taskId' must be a non-empty string")
    return task_id


async def _load(call: Call) -> tuple[str, dict[str, Any]]:
    """The caller's task, or -32602: unknown, expired and someone else's look the same."""
    require_negotiated(call)
    task_id = _task_id(call)
    record = await get_store().aget_json(record_key(call.principal.tenant_id, task_id))
    if not isinstance(record, dict) or not secrets.compare_digest(
        str(record.get("owner", "")), owner_of(call.principal)
    ):
        raise InvalidParams(f"Unknown task: {task_id}")
    return task_id, record


async def current_view(tenant_id: int, task_id: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record as a client should see it now: a cancellation not yet settled by the runner
    is already cancelled, and input requests already answered are no longer pending."""
    store = get_store()
    view = dict(record)
    if view["status"] not in TERMINAL and await store.aget_json(cancel_key(tenant_id, task_id)):
        view["status"] = "cancelled"
    if view["status"] == "input_required":
        requests = view.get("inputRequests") or {}
        answered = await answers(tenant_id, task_id, requests)
        pending = {key: request for key, request in requests.items() if key not in answered}
        view["inputRequests"] = pending
        if not pending:
            view["status"] = "working"
    return view


async def tasks_get(call: Call) -> dict[str, Any]:
    task_id, record = await _load(call)
    view = await current_view(call.principal.tenant_id, task_id, record)
    out = envelope(task_id, view)
    status = view["status"]
    if status == "completed" and "result" in view:
        out["result"] = view["result"]
    elif status == "failed" and "error" in view:
        out["error"] = view["error"]
    elif status == "input_required":
        out["inputRequests"] = view["inputRequests"]
    return out


async def tasks_update(call: Call) -> dict[str, Any]:
    task_id, record = await _load(call)
    responses = call.params.get("inputResponses")
    if not isinstance(responses, dict):
        raise InvalidParams("Invalid params: 'inputResponses' must be an object")
    pending = record.get("inputRequests") or {}
    accepted = {k: v for k, v in responses.items() if k in pending and isinstance(v, dict)}
    if accepted and record["status"] == "input_required":
        store = get_store()
        tenant_id = call.principal.tenant_id
        ttl = ttl_seconds()
        await asyncio.gather(
            *(
                store.aset_json(answer_key(tenant_id, task_id, r), a, ttl=ttl, strict=True)
                for r, a in accepted.items()
            )
        )
        task_runner.nudge(tenant_id, task_id)
    return {}


async def tasks_cancel(call: Call) -> dict[str, Any]:
    task_id, record = await _load(call)
    if record["status"] in TERMINAL:
        return {}  # idempotent: the same empty acknowledgement
    tenant_id = call.principal.tenant_id
    store = get_store()
    await store.aset_json(cancel_key(tenant_id, task_id), 1, ttl=ttl_seconds(), strict=True)
    # Settled here too, so the task reads as cancelled even if no runner is left to see the mark.
    record.update(status="cancelled", lastUpdatedAt=now())
    record.pop("inputRequests", None)
    await store.aset_json(record_key(tenant_id, task_id), record, ttl=ttl_seconds())
    task_runner.nudge(tenant_id, task_id)
    return {}
