"""Upstreams across real server processes sharing the database and Redis.

An upstream attached with the command (its secret set from standard input) appears on an
instance whose tenant configuration was cached; a listener on it is told the list changed;
a list change the upstream announces during a call on one instance is seen by the other;
the upstream only ever receives the tenant's secret.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from tests.interop.instances import ROOT, Instances, server_instances
from tests.interop.streams import META, MODERN, events, headers, listen_headers
from tests.tools.upstream.stubs import StubMcp

pytestmark = pytest.mark.own_database

SECRET = "cluster-secret-1a2b3c4d5e6f7a8b"
LISTEN = {
    "jsonrpc": "2.0",
    "id": "s",
    "method": "subscriptions/listen",
    "params": {"_meta": META, "notifications": {"toolsListChanged": True}},
}


async def _post(http: httpx2.AsyncClient, url: str, key: str, method: str, **params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": META}}
    extra = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if "name" in params:
        extra["Mcp-Name"] = params["name"]
    answer = await http.post(url, json=body, headers=headers(key, **extra))
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


async def _names(http: httpx2.AsyncClient, url: str, key: str) -> list[str]:
    return [tool["name"] for tool in (await _post(http, url, key, "tools/list"))["tools"]]


def _manage(instances: Instances, *args: str, stdin: str = "") -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=instances.env, input=stdin,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


async def _until(check: Any, seconds: float = 5.0) -> float:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < seconds, "not seen in time"
        await anyio.sleep(0.02)
    return time.monotonic() - started


async def _scenario(instances: Instances, stub: StubMcp) -> dict[str, float]:
    a, b = instances.urls
    key = instances.key
    async with httpx2.AsyncClient(timeout=30) as http:
        for url in (a, b):
            assert "whoami" in await _names(http, url, key)  # configuration cached on both
        async with http.stream("POST", b, json=LISTEN, headers=listen_headers(key)) as listen:
            lines = listen.aiter_lines()
            with anyio.fail_after(20):
                assert (await events(lines, 1))[0]["method"].endswith("acknowledged")
            await anyio.to_thread.run_sync(
                lambda: _manage(instances, "set_tenant_secret", "pair", "T", stdin=SECRET)
            )
            attach = ("add_upstream", "pair", "crm", "--url", stub.url, "--allow-private")
            header = ("--header", "Authorization=Bearer {secret:T}")
            await anyio.to_thread.run_sync(lambda: _manage(instances, *attach, *header))

            async def listed_on_b() -> bool:
                return "crm.echo" in await _names(http, b, key)

            attached = await _until(listed_on_b)
            with anyio.fail_after(10):
                told = [e["method"] for e in await events(lines, 1)]
        assert "crm.echo" in await _names(http, a, key)
        grown = await _post(http, a, key, "tools/call", name="crm.grow", arguments={})
        assert grown["content"][0]["text"] == "grown"

        async def grown_on_b() -> bool:
            return "crm.grown" in await _names(http, b, key)

        followed = await _until(grown_on_b)
    assert told == ["notifications/tools/list_changed"]
    return {"attached": attached, "followed": followed}


def test_an_upstream_attached_by_command_serves_every_instance(
    redis_url: str, tmp_path: Path
) -> None:
    stub = StubMcp(legacy_only=True).start()
    try:
        with server_instances(redis_url=redis_url, tmp_path=tmp_path) as instances:
            seen = anyio.run(_scenario, instances, stub)
    finally:
        stub.stop()
    print(f"upstream tools listed on the second instance {seen['attached']:.3f} s after "
          f"add_upstream; its list change followed there in {seen['followed']:.3f} s")  # fmt: skip
    assert seen["attached"] < 2.0 and seen["followed"] < 2.0
    sent = stub.recorder.requests
    assert sent and all(h.get("authorization") == f"Bearer {SECRET}" for h in sent)
    assert instances.key not in stub.recorder.all_text()
