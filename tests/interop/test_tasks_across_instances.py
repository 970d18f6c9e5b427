"""A task outlives the instance that accepted it: created on one server process, worked by a
real Celery worker, answered by another process after the first was killed. Another principal
asking for that task id is told exactly what it would be told of an unknown one."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.interop.faults import MODERN, headers
from tests.interop.instances import ROOT, Cluster

pytestmark = pytest.mark.own_database

TASKS: dict[str, Any] = {"extensions": {"io.modelcontextprotocol/tasks": {}}}


def _broker(redis_url: str) -> str:
    # kombu names a Redis Unix socket redis+socket:///path
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


@pytest.fixture
def cluster(redis_url: str, tmp_path: Path) -> Iterator[tuple[Cluster, str, str]]:
    cluster = Cluster(redis_url=redis_url, tmp_path=tmp_path, keys=secrets.token_hex(32))
    cluster.env.update(
        DJANGO_SETTINGS_MODULE="tests.interop.instance_settings",
        MCP_TEST_OVERRIDES=json.dumps({"MCP_SERVER": {"TASKS_RUNNER": "celery"}}),
        CELERY_BROKER_URL=_broker(redis_url),
    )
    cluster.migrate(with_pair=True)
    key, other = (
        printed.strip().splitlines()[-1]
        for printed in cluster.manage_all(
            ("create_api_key", "pair", "--name", "pair"),
            ("create_api_key", "pair", "--name", "other"),
        )
    )
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mcpserver", "worker", "--pool", "solo",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info"],
        cwd=ROOT, env=cluster.env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    cluster.start_all()
    try:
        yield cluster, key, other
    finally:
        cluster.stop_all()
        worker.terminate()
        worker.wait(timeout=20)
        log.close()


def rpc(url: str, key: str, method: str, params: dict[str, Any]) -> httpx2.Response:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": TASKS,
    }
    extra = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    name = params.get("name", params.get("taskId"))
    if name is not None:
        extra["Mcp-Name"] = name
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta}}
    with httpx2.Client(timeout=10) as http:
        return http.post(url, content=json.dumps(body), headers=headers(key, **extra))


def test_a_task_survives_its_instance_and_stays_its_owners(
    cluster: tuple[Cluster, str, str],
) -> None:
    servers, key, other = cluster
    first, second = servers.urls
    created = rpc(
        first,
        key,
        "tools/call",
        {"name": "slow_compute", "arguments": {"seconds": 2, "label": "survivor"}},
    )
    task = created.json()["result"]
    assert task["resultType"] == "task" and task["status"] == "working"
    servers.kill(0)  # the accepting instance is gone; the worker holds the task

    deadline = time.monotonic() + 60
    while True:
        got = rpc(second, key, "tasks/get", {"taskId": task["taskId"]}).json()["result"]
        if got["status"] != "working" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert got["status"] == "completed", got
    assert got["result"]["content"][0]["text"] == "Computed survivor after 2s"
    worked = (Path(servers.logs) / "worker.log").read_text()
    assert "mcpserver.run_tool_task" in worked and "succeeded" in worked  # the worker did it

    stranger = rpc(second, other, "tasks/get", {"taskId": task["taskId"]})
    unknown = rpc(second, other, "tasks/get", {"taskId": "no-such-task"})
    assert stranger.status_code == unknown.status_code
    mine, theirs = stranger.json()["error"], unknown.json()["error"]
    assert mine["code"] == theirs["code"] == -32602
    assert mine["message"].replace(task["taskId"], "ID") == theirs["message"].replace(
        "no-such-task", "ID"
    )
