"""A listing lives as long as the upstream's lists say (within bounds), and a fetch that finds
a list changed tells the tenant's listening clients: how a 2026-07-28 upstream's changes,
which it announces only on listen streams the gateway does not hold, reach clients."""

from __future__ import annotations

import io
import time
from typing import Any

import anyio
import httpx2
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from tests.interop.streams import LISTEN, META, MODERN, events, headers, listen_headers
from tests.tools.upstream.conftest import Gateway
from tests.tools.upstream.stubs import StubMcp
from tools.upstream import listing


def _bounds(shortest: float, longest: float) -> Any:
    return override_settings(
        MCP_SERVER={
            **settings.MCP_SERVER,
            "UPSTREAM_LIST_MIN_INTERVAL": shortest,
            "UPSTREAM_LIST_INTERVAL": longest,
        }
    )


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (None, 300.0),  # a 2025-11-25 upstream: no lifetime, the interval
        (0.0, 10.0),  # "immediately stale": the shortest the gateway allows
        (60.0, 60.0),
        (86_400.0, 300.0),  # never longer than the interval
        (float("nan"), 300.0),
        (True, 300.0),
        ("60", 300.0),
    ],
)
def test_a_listing_is_kept_for_the_upstreams_lifetime_within_bounds(
    given: Any, kept: float
) -> None:
    with _bounds(10, 300):
        assert listing.fresh_for({} if given is None else {"fresh_for": given}) == kept


def test_the_shortest_bound_never_exceeds_the_longest() -> None:
    with _bounds(600, 300):
        assert listing.fresh_for({"fresh_for": 0}) == 300


def test_only_lists_that_differ_from_the_last_good_listing_are_announced() -> None:
    tools = [{"name": "a"}]
    before = {"tools": tools, "resources": [], "templates": [{"uriTemplate": "x://{id}"}]}
    assert listing.changes(None, before) == []  # nothing listed before: nothing to tell
    assert listing.changes({"error": "down"}, before) == []
    assert listing.changes(before, dict(before)) == []
    after = {**before, "tools": [*tools, {"name": "b"}], "templates": []}
    assert listing.changes(before, after) == [
        "notifications/tools/list_changed",
        "notifications/resources/list_changed",
    ]
    assert listing.changes(before, {**before, "prompts": [{"name": "p"}]}) == [
        "notifications/prompts/list_changed"
    ]


async def _post(http: httpx2.AsyncClient, gateway: Gateway, method: str, **params: Any) -> Any:
    extra = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if "name" in params:
        extra["Mcp-Name"] = params["name"]
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": META}}
    answer = await http.post(gateway.url, json=body, headers=headers(gateway.key, **extra))
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


async def _tool_names(http: httpx2.AsyncClient, gateway: Gateway) -> list[str]:
    return [tool["name"] for tool in (await _post(http, gateway, "tools/list"))["tools"]]


def test_a_2026_upstreams_new_tool_is_listed_and_announced_once_its_lifetime_ran_out(
    gateway: Gateway,
) -> None:
    # The SDK's server gives its lists ttlMs 0; with the interval at 300 s, only honouring it
    # (here down to the 1 s floor) brings the new tool within the test's few seconds.
    stub = StubMcp().start()
    try:
        call_command(
            "add_upstream", "gw", "fresh", "--url", stub.url, "--allow-private",
            stdout=io.StringIO(),
        )  # fmt: skip

        async def main() -> tuple[list[str], list[dict[str, Any]], float]:
            async with httpx2.AsyncClient(timeout=20) as http:
                listen = http.stream(
                    "POST", gateway.url, json=LISTEN, headers=listen_headers(gateway.key)
                )
                async with listen as stream:
                    lines = stream.aiter_lines()
                    with anyio.fail_after(10):
                        (acknowledged,) = await events(lines, 1)
                    assert acknowledged["method"] == "notifications/subscriptions/acknowledged"
                    names = await _tool_names(http, gateway)
                    assert "fresh.grow" in names and "fresh.grown" not in names
                    await _post(http, gateway, "tools/call", name="fresh.grow", arguments={})
                    grown_at = time.monotonic()
                    with anyio.fail_after(15):
                        while "fresh.grown" not in names:
                            await anyio.sleep(0.25)
                            names = await _tool_names(http, gateway)
                        told = await events(lines, 1)
                    return names, told, time.monotonic() - grown_at

        with _bounds(1, 300):
            names, told, waited = anyio.run(main)
    finally:
        stub.stop()
    assert "fresh.grown" in names
    assert [event["method"] for event in told] == ["notifications/tools/list_changed"]
    assert waited < 10
