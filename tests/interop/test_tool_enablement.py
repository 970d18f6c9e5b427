"""A tool disabled with ``set_tenant_tools`` leaves every instance's tools/list at once.

Two server processes share the database and Redis; the command runs as a third process. The
second instance, whose tenant configuration is cached (process tier and Redis), stops
listing the tool well within a second of the command's exit, and clients listening on it in
both eras (a 2026-07-28 ``subscriptions/listen`` stream, a 2025-11-25 GET stream) are told
the list changed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from tests.interop.instances import Instances, server_instances
from tests.interop.streams import LISTEN, META, MODERN, events, headers, legacy_session

# Servers on a database of their own: the result does not depend on the suite's database,
# so the PostgreSQL pass skips them (make test runs them once).
pytestmark = pytest.mark.own_database

TOOL = "test_simple_text"


async def _tool_names(http: httpx2.AsyncClient, url: str, key: str) -> list[str]:
    body = {"jsonrpc": "2.0", "id": "l", "method": "tools/list", "params": {"_meta": META}}
    extra = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list"}
    answer = await http.post(url, json=body, headers=headers(key, **extra))
    assert answer.status_code == 200, answer.text
    return [tool["name"] for tool in answer.json()["result"]["tools"]]


async def _run_command(instances: Instances, *args: str) -> None:
    done = await anyio.to_thread.run_sync(
        lambda: instances.manage("set_tenant_tools", "pair", *args, check=False)
    )
    assert done.returncode == 0, done.stderr
    assert f"disabled tools {TOOL}" in done.stdout


async def _scenario(instances: Instances) -> dict[str, Any]:
    a, b = instances.urls
    key = instances.key
    async with httpx2.AsyncClient(timeout=30) as http:
        for url in (a, b):  # both instances have the tenant's configuration cached
            for _ in range(3):
                assert TOOL in await _tool_names(http, url, key)
        session = await legacy_session(http, b, key, {})
        get_headers = {**session, "Accept": "text/event-stream"}
        async with (
            http.stream("POST", b, json=LISTEN, headers=headers(key, **{
                "MCP-Protocol-Version": MODERN, "Mcp-Method": "subscriptions/listen"})) as listen,
            http.stream("GET", b, headers=get_headers) as get,
        ):  # fmt: skip
            assert listen.status_code == 200 and get.status_code == 200
            listen_lines, get_lines = listen.aiter_lines(), get.aiter_lines()
            with anyio.fail_after(30):
                ack = (await events(listen_lines, 1))[0]
            assert ack["method"] == "notifications/subscriptions/acknowledged"

            await _run_command(instances, "--disable-tools", TOOL)
            done_at = time.monotonic()
            while TOOL in await _tool_names(http, b, key):
                assert time.monotonic() - done_at < 5, "still listed after 5 s"
                await anyio.sleep(0.01)
            gone_after = time.monotonic() - done_at
            listed_on_a = await _tool_names(http, a, key)
            with anyio.fail_after(10):
                modern = (await events(listen_lines, 1))[0]
                legacy = (await events(get_lines, 1))[0]
    return {
        "gone_after": gone_after,
        "listed_on_a": listed_on_a,
        "modern": modern,
        "legacy": legacy,
    }


def test_a_disabled_tool_leaves_the_other_instance_and_listeners_are_told(
    redis_url: str, tmp_path: Path
) -> None:
    with server_instances(redis_url=redis_url, tmp_path=tmp_path) as instances:
        seen = anyio.run(_scenario, instances)
    print(f"tools/list on the second instance without the tool {seen['gone_after']:.3f} s "
          "after set_tenant_tools exited")  # fmt: skip
    assert seen["gone_after"] < 1.0
    assert TOOL not in seen["listed_on_a"] and "whoami" in seen["listed_on_a"]
    assert seen["modern"]["method"] == "notifications/tools/list_changed"
    assert seen["modern"]["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "s"
    assert seen["legacy"]["method"] == "notifications/tools/list_changed"
