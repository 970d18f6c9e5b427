"""Input requests across the gateway, timeouts, cancellation and upstreams that fail."""

from __future__ import annotations

import io
import time
from typing import Any

import anyio
import mcp_types as types
import pytest
from django.core.management import call_command
from mcp.client.client import Client

from tests.tools.upstream.conftest import Gateway
from tests.tools.upstream.stubs import StubMcp

ERAS = ["legacy", "2026-07-28"]


async def _accept_ada(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    assert params.message == "What is your name?"
    return types.ElicitResult(action="accept", content={"name": "Ada"})


@pytest.mark.parametrize("upstream", ["crm", "old"])
@pytest.mark.parametrize("mode", ERAS)
def test_an_upstream_elicitation_reaches_the_client_in_its_own_era(
    gateway: Gateway, mode: str, upstream: str
) -> None:
    # A 2026-07-28 client gets an InputRequiredResult (its requestState sealed by this
    # server) even when the upstream asked on a 2025-11-25 session, and the reverse.
    async def body(client: Client) -> Any:
        return await client.call_tool(f"{upstream}.greet", {})

    result = gateway.run(mode, body, elicitation_callback=_accept_ada)
    assert result.is_error is False
    assert result.content[0].text == "Hello, Ada!"


def _add_upstream(slug: str, name: str, url: str, *options: str) -> None:
    call_command("add_upstream", slug, name, "--url", url, *options, stdout=io.StringIO())


@pytest.mark.parametrize("mode", ERAS)
def test_a_slow_upstream_is_cut_off_at_its_timeout_and_cancelled(
    gateway: Gateway, mode: str
) -> None:
    _add_upstream("gw", "sluggish", gateway.mcp.url, "--allow-private", "--timeout", "1")
    tag = f"timeout-{mode}"

    async def body(client: Client) -> Any:
        started = time.monotonic()
        result = await client.call_tool("sluggish.slow", {"seconds": 20, "tag": tag})
        return result, time.monotonic() - started

    result, took = gateway.run(mode, body)
    assert result.is_error is True
    assert "did not answer within 1 s" in result.content[0].text
    assert took < 4
    _wait(lambda: tag in gateway.mcp.state.cancelled)


@pytest.mark.parametrize("mode", ERAS)
def test_a_client_cancelling_cancels_the_upstream_call(gateway: Gateway, mode: str) -> None:
    tag = f"cancel-{mode}"

    async def body(client: Client) -> None:
        await client.list_tools()
        with anyio.move_on_after(1.5):
            await client.call_tool("crm.slow", {"seconds": 20, "tag": tag})

    gateway.run(mode, body)
    assert tag in gateway.mcp.state.started
    # Well before the upstream's own 5 s timeout would have ended it: the client leaving did.
    _wait(lambda: tag in gateway.mcp.state.cancelled, seconds=2.0)


def _wait(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("not seen in time")
        time.sleep(0.05)


@pytest.mark.parametrize("mode", ERAS)
def test_an_upstream_that_went_down_gives_error_results_and_the_rest_works(
    gateway: Gateway, mode: str
) -> None:
    stub = StubMcp().start()
    _add_upstream("gw", "flaky", stub.url, "--allow-private", "--timeout", "2")

    async def listed(client: Client) -> list[str]:
        return [tool.name for tool in (await client.list_tools()).tools]

    assert "flaky.echo" in gateway.run(mode, listed)
    stub.stop()

    async def body(client: Client) -> Any:
        return (
            await client.call_tool("flaky.echo", {"text": "x"}),
            await client.call_tool("crm.echo", {"text": "y"}),
        )

    down, fine = gateway.run(mode, body)
    assert down.is_error is True
    assert down.content[0].text == "The upstream server 'flaky' could not be reached."
    assert fine.content[0].text == "echo: y"


@pytest.mark.parametrize("mode", ERAS)
def test_an_upstream_that_never_answers_or_answers_garbage_leaves_the_rest_listed(
    gateway: Gateway, mode: str
) -> None:
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        _add_upstream(
            "gw", "silent", f"http://127.0.0.1:{port}/mcp", "--allow-private", "--timeout", "1"
        )
        _add_upstream(
            "gw", "garbage", f"{gateway.api.base}/garbage", "--allow-private", "--timeout", "1"
        )

        async def body(client: Client) -> Any:
            started = time.monotonic()
            tools = await client.list_tools()
            took = time.monotonic() - started
            unknown = None
            try:
                await client.call_tool("silent.echo", {"text": "x"})
            except Exception as exc:  # noqa: BLE001 (the SDK raises the JSON-RPC error)
                unknown = exc
            return (
                [t.name for t in tools.tools],
                took,
                unknown,
                await client.call_tool("crm.echo", {"text": "z"}),
            )

        names, took, unknown, fine = gateway.run(mode, body)
    assert "crm.echo" in names and "get_order" in names
    assert not any(n.startswith(("silent.", "garbage.")) for n in names)
    assert took < 4
    assert "Unknown tool: silent.echo" in str(unknown)
    assert fine.content[0].text == "echo: z"
