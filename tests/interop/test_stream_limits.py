"""Event streams are admitted up to a limit, and leave no Channels-layer group member behind.

Against a real server under daphne, with small limits and a small Channels-layer pool: the
streams past a tenant's or the process's limit are refused with 503, Retry-After and a
JSON-RPC error; every admitted stream gets its acknowledgement (their group joins queue for
the pool rather than failing); once the clients go, Redis holds no member for them. A
process that dies holding streams leaves members that expire within the group expiry, while
the members of live streams are refreshed and keep receiving.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest
import redis

from tests.interop.streams import LISTEN, listen_headers, trigger_tool_change

# Servers on a database of their own: the result does not depend on the suite's database,
# so the PostgreSQL pass skips them (make test runs them once).
pytestmark = pytest.mark.own_database


LIMITS = {
    "MCP_SERVER": {"STREAMS_PER_TENANT": 30, "STREAMS_PER_PROCESS": 40},
    "CHANNEL_LAYER": {"max_connections": 4},
}


@dataclass
class Opened:
    status: int
    headers: dict[str, str]
    first: dict[str, Any]
    writer: asyncio.StreamWriter
    reader: asyncio.StreamReader


async def _listen(url: str, key: str) -> Opened:
    """A listen stream over a raw socket: the status, headers and the first JSON message."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    body = json.dumps(LISTEN).encode()
    head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
    head += [f"{k}: {v}" for k, v in listen_headers(key).items()]
    head += [f"Content-Length: {len(body)}", "", ""]
    writer.write("\r\n".join(head).encode() + body)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    if status != 200:
        first = json.loads(await _body(reader, headers))
    else:
        first = await _next_message(reader)
    return Opened(status, headers, first, writer, reader)


async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    body = b""
    while size := int((await reader.readline()).strip(), 16):  # chunked
        body += await reader.readexactly(size)
        await reader.readline()
    return body


async def _next_message(reader: asyncio.StreamReader) -> dict[str, Any]:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("the stream ended")
        if line.startswith(b"data: ") and line[6:].strip():
            return dict(json.loads(line[6:]))


def _members(client: redis.Redis) -> dict[bytes, int]:
    """Members of the tenants' stream groups (not the process-wide cancellation group)."""
    keys = client.scan_iter(b"asgi:group:mcp-tenant-*")
    return {key: int(client.zcard(key)) for key in keys}


def _wait(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.1)


def test_streams_past_the_limits_are_refused_and_members_are_cleaned_up(
    launch_instances: Any, redis_url: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    server = launch_instances(server="daphne", count=1, overrides=LIMITS)
    other_key = server.new_tenant("other")
    pair_url, other_url = server.urls[0], server.url("other")

    async def main() -> tuple[list[Opened], list[Opened], list[Opened]]:
        with anyio.fail_after(120):
            pair = await asyncio.gather(*(_listen(pair_url, server.key) for _ in range(35)))
            other = await asyncio.gather(*(_listen(other_url, other_key) for _ in range(15)))
        held = [o for o in (*pair, *other) if o.status == 200]
        group_sizes = sorted(_members(client).values())
        ttls = [client.ttl(key) for key in _members(client)]
        # The clients vanish: half close their socket, half reset it.
        for index, opened in enumerate(held):
            if index % 2:
                opened.writer.transport.abort()
            else:
                opened.writer.close()
        assert group_sizes == [10, 30]
        assert all(0 < ttl <= 90 for ttl in ttls), ttls
        return list(pair), list(other), held

    pair, other, held = asyncio.run(main())
    refused = [o for o in (*pair, *other) if o.status != 200]
    assert sum(o.status == 200 for o in pair) == 30
    assert sum(o.status == 200 for o in other) == 10
    assert len(held) == 40 and len(refused) == 10
    for opened in held:
        assert opened.first["method"] == "notifications/subscriptions/acknowledged"
    for opened in refused:
        assert opened.status == 503
        assert opened.headers["retry-after"].isdigit()
        assert opened.first["id"] == "s"
        assert opened.first["error"]["code"] == -32000
        assert "too many open streams" in opened.first["error"]["message"]
    _wait(lambda: not any(_members(client).values()))

    async def again() -> Opened:
        opened = await _listen(pair_url, server.key)
        opened.writer.close()
        return opened

    # The slots came back with the clients' leaving.
    assert asyncio.run(again()).status == 200


def test_members_of_a_dead_process_expire_and_live_ones_keep_receiving(
    launch_instances: Any, redis_url: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    expiry = 6
    pair = launch_instances(server="daphne", overrides={"CHANNEL_LAYER": {"group_expiry": expiry}})
    (a, b), key = pair.urls, pair.key

    async def main() -> dict[str, Any]:
        with anyio.fail_after(120):
            on_a = await asyncio.gather(*(_listen(a, key) for _ in range(3)))
            on_b = await _listen(b, key)
            assert [o.status for o in (*on_a, on_b)] == [200] * 4
            assert list(_members(client).values()) == [4]
            pair.processes[0].send_signal(signal.SIGKILL)
            pair.processes[0].wait(timeout=10)
            # Past the expiry, B's member has been refreshed and A's have not.
            await asyncio.sleep(expiry * 2)
            import httpx2

            async with httpx2.AsyncClient(timeout=60) as http:
                await trigger_tool_change(http, b, key)
            changed = await _next_message(on_b.reader)
            assert list(_members(client).values()) == [1]
            on_b.writer.close()
            return changed

    assert asyncio.run(main())["method"] == "notifications/tools/list_changed"
    _wait(lambda: not any(_members(client).values()))
