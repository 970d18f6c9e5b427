"""Outbound requests of HTTP tools and upstream servers cannot reach what they should not:
each attempt is refused with a clear error, and the listener it aimed at sees no connection."""

from __future__ import annotations

import io
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from django.core.management import call_command
from django.test import override_settings
from mcp.client.client import Client

from tenants.outbound import OutboundPolicy, OutboundRefused
from tenants.outbound_transport import ResponseTooLarge, guarded_async_client
from tests.tools.upstream.conftest import Gateway, order_spec
from tests.tools.upstream.stubs import StubApi


@pytest.fixture(scope="module")
def second_api() -> Iterator[StubApi]:
    """An API on 127.0.0.2: a loopback address a policy can allow on its own."""
    stub = StubApi(host="127.0.0.2").start()
    yield stub
    stub.stop()


def _http_tool(tmp_path: Path, tool: str, **spec: Any) -> None:
    path = tmp_path / f"{tool}.json"
    path.write_text(json.dumps(spec | {"name": tool}))
    call_command("add_http_tool", "gw", "--spec", str(path), stdout=io.StringIO())


def _call(gateway: Gateway, name: str, arguments: dict[str, Any] | None = None) -> Any:
    async def body(client: Client) -> Any:
        return await client.call_tool(name, arguments or {"id": "1"})

    return gateway.run("2026-07-28", body)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::ffff:127.0.0.1]:{port}/orders/{{id}}", "private address"),
        ("http://2130706433:{port}/orders/{{id}}", "private address"),
        ("http://0x7f.1:{port}/orders/{{id}}", "private address"),
        ("http://localhost:{port}/orders/{{id}}", "private address"),
    ],
)
def test_private_and_metadata_destinations_are_refused_before_connecting(
    gateway: Gateway, tmp_path: Path, url: str, reason: str
) -> None:
    port = gateway.api.served.port
    spec = order_spec(gateway.api, url=url.format(port=port), allow_private_network=False)
    _http_tool(tmp_path, "probe", **spec)
    result = _call(gateway, "probe")
    assert result.is_error is True
    text = result.content[0].text
    assert text.startswith("The API was not called:") and reason in text
    assert gateway.api.recorder.requests == []  # no connection reached the stub


def test_a_redirect_from_an_allowed_host_to_a_private_one_is_not_followed(
    gateway: Gateway, second_api: StubApi, tmp_path: Path
) -> None:
    private = f"http://127.0.0.1:{gateway.api.served.port}/orders/1"
    url = f"{second_api.base}/redirect?to={private}"
    with override_settings(MCP_SERVER=_with(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.2/32"])):
        _http_tool(tmp_path, "hop", **order_spec(second_api, url=url, query={},
                   allow_private_network=False, max_redirects=3))  # fmt: skip
        result = _call(gateway, "hop")
    assert result.is_error is True
    assert "127.0.0.1 is a private address" in result.content[0].text
    assert second_api.recorder.paths == ["/redirect"]
    assert gateway.api.recorder.requests == []


def _with(**values: Any) -> dict[str, Any]:
    from django.conf import settings

    return {**settings.MCP_SERVER, **values}


def test_an_answer_over_the_cap_is_refused(gateway: Gateway, tmp_path: Path) -> None:
    _http_tool(
        tmp_path, "huge", **order_spec(gateway.api, url=f"{gateway.api.base}/huge", query={})
    )
    result = _call(gateway, "huge")
    assert result.is_error is True
    assert result.content[0].text == "The API's answer is larger than allowed."


def test_a_server_that_never_answers_is_cut_off_at_the_timeout(
    gateway: Gateway, tmp_path: Path
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/orders/{{id}}"
        _http_tool(tmp_path, "mute", **order_spec(gateway.api, url=url, timeout=1))
        started = time.monotonic()
        result = _call(gateway, "mute")
    assert result.is_error is True
    assert result.content[0].text == "The API did not answer within 1 s."
    assert time.monotonic() - started < 4


def test_an_upstream_server_on_loopback_needs_the_switch(gateway: Gateway) -> None:
    call_command("add_upstream", "gw", "nearby", "--url", gateway.mcp.url, stdout=io.StringIO())

    async def body(client: Client) -> list[str]:
        return [tool.name for tool in (await client.list_tools()).tools]

    names = gateway.run("2026-07-28", body)
    assert "crm.echo" in names
    assert not any(name.startswith("nearby.") for name in names)
    assert gateway.mcp.recorder.requests and all(
        "nearby" not in path for path in gateway.mcp.recorder.paths
    )


# ----- the guarded client the SDK uses, on its own --------------------------------------


def _get(url: str, policy: OutboundPolicy) -> Any:
    async def main() -> Any:
        async with guarded_async_client(policy=policy) as http:
            response = await http.get(url)
            return response.status_code, await response.aread()

    return anyio.run(main)


@pytest.mark.parametrize("host", ["localhost", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1"])
def test_the_sdk_client_transport_refuses_loopback_spellings(stub_api: StubApi, host: str) -> None:
    stub_api.recorder.clear()
    with pytest.raises(OutboundRefused):
        _get(f"http://{host}:{stub_api.served.port}/orders/1", OutboundPolicy())
    assert stub_api.recorder.requests == []


def test_the_sdk_client_transport_pins_caps_and_keeps_the_host_name(stub_api: StubApi) -> None:
    stub_api.recorder.clear()
    allowed = OutboundPolicy(allow_private=True, max_bytes=1000)
    status, body = _get(f"http://localhost:{stub_api.served.port}/orders/9", allowed)
    assert status == 200 and b'"id": "9"' in body
    assert stub_api.recorder.requests[0]["host"] == f"localhost:{stub_api.served.port}"
    with pytest.raises(ResponseTooLarge):
        _get(f"{stub_api.base}/huge", allowed)
