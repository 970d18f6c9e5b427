"""A task's answers survive what happens to the updates that bring them: each answer is kept
under its own key, so a tasks/update never rewrites (or, with a read that failed while Redis
stalled, erases) the answers an earlier update brought."""

from __future__ import annotations

import time
from typing import Any

import httpx2
import pytest

from sessions_store.aio import AsyncStore
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
