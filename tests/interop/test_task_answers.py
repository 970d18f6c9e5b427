"""A task survives what a stalled Redis does to the store calls around it: each answer is kept
under its own key, so a tasks/update never rewrites (or, with a read that failed, erases) the
answers an earlier update brought; and the runner's own reads and writes of the task are tried
again, so a failed one neither leaves the task unstarted nor stuck "working"."""

from __future__ import annotations

import time
from typing import Any

import httpx2
import pytest

from sessions_store.aio import AsyncStore
from sessions_store.errors import StoreUnavailable
from tests.interop.conftest import LiveTenant
from tests.interop.streams import MODERN, headers

CAPABILITIES: dict[str, Any] = {
    "elicitation": {},
    "extensions": {"io.modelcontextprotocol/tasks": {}},
}
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": CAPABILITIES,
}


def _post(http: httpx2.Client, live: LiveTenant, method: str, **params: Any) -> dict[str, Any]:
    extra = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    name = params.get("name") or params.get("taskId")
    if name:
        extra["Mcp-Name"] = name
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": META}}
    answer = http.post(live.url, json=body, headers=headers(live.key, **extra))
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


def _until(http: httpx2.Client, live: LiveTenant, task_id: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        task = _post(http, live, "tasks/get", taskId=task_id)
        if done(task) or time.monotonic() > deadline:
            return task
        time.sleep(0.05)


def test_an_update_whose_reads_fail_keeps_the_earlier_answers(
    live_tenant: LiveTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    with httpx2.Client(timeout=10) as http:
        task_id = _post(http, live_tenant, "tools/call", name="multi_input", arguments={})["taskId"]
        asked = _until(http, live_tenant, task_id, lambda t: len(t.get("inputRequests", {})) == 2)
        first, second = sorted(asked["inputRequests"])  # "r1.confirm", "r1.name"
        answers = {
            request_id: {"action": "accept", "content": {"name": "Ada"}}
            if request_id.endswith(".name")
            else {"action": "accept", "content": {"confirm": True}}
            for request_id in (first, second)
        }
        _post(http, live_tenant, "tasks/update", taskId=task_id,
              inputResponses={first: answers[first]})  # fmt: skip

        real = AsyncStore.aget_json

        async def stalled(self: Any, key: str, *, strict: bool = False) -> Any:
            if ":answer" in key and not strict:
                return None  # what a non-strict read answers while Redis stalls
            return await real(self, key, strict=strict)

        monkeypatch.setattr(AsyncStore, "aget_json", stalled)
        _post(http, live_tenant, "tasks/update", taskId=task_id,
              inputResponses={second: answers[second]})  # fmt: skip
        monkeypatch.setattr(AsyncStore, "aget_json", real)  # Redis is back
        settled = _until(http, live_tenant, task_id, lambda t: t["status"] != "input_required"
                         and t["status"] != "working")  # fmt: skip
    assert settled["status"] == "completed", settled
    assert "Ada" in str(settled["result"]) and "accept" in str(settled["result"])


def _task_record(key: str) -> bool:
    return key.startswith("mcp:task:") and key.count(":") == 3  # not an answer or cancel key


def _failing_once(monkeypatch: pytest.MonkeyPatch, method: str, fails: Any) -> list[str]:
    """The first ``AsyncStore.<method>`` call that ``fails(key, value)`` picks out answers as
    that call does while Redis stalls: strict, ``StoreUnavailable``; otherwise nothing read
    (None) or nothing written. Returns the keys it failed."""
    real = getattr(AsyncStore, method)
    failed: list[str] = []

    async def stalled(self: Any, key: str, *args: Any, strict: bool = False, **kw: Any) -> Any:
        if not failed and fails(key, args[0] if args else None):
            failed.append(key)
            if strict:
                raise StoreUnavailable("the shared store could not be reached")
            return None
        return await real(self, key, *args, strict=strict, **kw)

    monkeypatch.setattr(AsyncStore, method, stalled)
    return failed


@pytest.mark.parametrize(
    "method, fails",
    [
        # The runner's first read of the task it was handed, right after the task was created.
        ("aget_json", lambda key, _value: _task_record(key)),
        # The runner's write that tells the client which input it needs.
        ("aset_json", lambda key, value: _task_record(key)
         and isinstance(value, dict) and value.get("status") == "input_required"),
    ],
    ids=["first-read", "input-required-write"],
)  # fmt: skip
def test_a_runner_store_call_that_fails_is_tried_again(
    live_tenant: LiveTenant, monkeypatch: pytest.MonkeyPatch, method: str, fails: Any
) -> None:
    failed = _failing_once(monkeypatch, method, fails)
    with httpx2.Client(timeout=10) as http:
        task_id = _post(http, live_tenant, "tools/call", name="multi_input", arguments={})["taskId"]
        asked = _until(http, live_tenant, task_id, lambda t: len(t.get("inputRequests", {})) == 2)
    assert failed, "the injected failure was never reached"
    assert asked["status"] == "input_required", asked
