"""Waits on the Channels layer last as long as the protocol says, not as long as a socket read.

channels_redis blocks on Redis for 5 s per pop; a socket timeout no longer than that once
ended every stream and every wait for an answer at 5 s. These hold streams and waits past it,
on real server processes under daphne (which also must send a GET stream's headers at once).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest

from tests.interop.conftest import Instances, instance_launcher
from tests.interop.streams import (
    LISTEN,
    events,
    legacy_session,
    listen_headers,
    trigger_tool_change,
)

# Generous bounds: the machine is shared and slow; they only stop a hung test.
# Servers on a database of their own: the result does not depend on the suite's database,
# so the PostgreSQL pass skips them (make test runs them once).
pytestmark = pytest.mark.own_database


TIMEOUT = httpx2.Timeout(60.0)


@pytest.fixture(scope="module")
def pair(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instances]:
    """Two daphne instances for both tests: neither changes what the other relies on."""
    with instance_launcher(redis_url, tmp_path_factory.mktemp("waits")) as launch:
        yield launch(server="daphne")


def test_listen_and_get_streams_outlive_the_pop_and_carry_late_changes(pair: Instances) -> None:
    (a, b), key = pair.urls, pair.key

    async def main() -> None:
        async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
            session = await legacy_session(http, a, key, {})
            get_headers = {**session, "Accept": "text/event-stream"}
            opened = time.monotonic()
            async with (
                http.stream("POST", a, json=LISTEN, headers=listen_headers(key)) as listen,
                http.stream("GET", a, headers=get_headers) as get,
            ):
                assert listen.status_code == 200
                assert get.status_code == 200
                listen_lines, get_lines = listen.aiter_lines(), get.aiter_lines()
                with anyio.fail_after(60):
                    ack = (await events(listen_lines, 1))[0]
                assert ack["method"] == "notifications/subscriptions/acknowledged"
                # Past the 5 s pop (and socket timeout), then past 15 s: each change arrives.
                for at in (8.0, 15.5):
                    await anyio.sleep(max(0.0, opened + at - time.monotonic()))
                    await trigger_tool_change(http, b, key)
                    with anyio.fail_after(60):
                        heard = (await events(listen_lines, 1))[0]
                        told = (await events(get_lines, 1))[0]
                    assert heard["method"] == "notifications/tools/list_changed"
                    assert told["method"] == "notifications/tools/list_changed"
                assert time.monotonic() - opened >= 15

    anyio.run(main)


def test_an_elicitation_answered_after_ten_seconds_on_the_other_instance(pair: Instances) -> None:
    (a, b), key = pair.urls, pair.key

    async def main() -> dict[str, Any]:
        async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
            session = await legacy_session(http, a, key, {"elicitation": {}})
            call = {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "test_elicitation", "arguments": {"message": "Name?"}},
            }
            async with http.stream("POST", a, json=call, headers=session) as stream:
                lines = stream.aiter_lines()
                with anyio.fail_after(60):
                    asked = (await events(lines, 1))[0]
                assert asked["method"] == "elicitation/create"
                await anyio.sleep(10)
                answer = {
                    "jsonrpc": "2.0",
                    "id": asked["id"],
                    "result": {"action": "accept", "content": {"response": "Ada"}},
                }
                assert (await http.post(b, json=answer, headers=session)).status_code == 202
                with anyio.fail_after(60):
                    return (await events(lines, 1))[0]

    final = anyio.run(main)["result"]
    assert not final.get("isError"), final
    expected = 'User response: action=accept, content={"response": "Ada"}'
    assert final["content"][0]["text"] == expected
