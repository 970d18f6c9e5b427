"""The Channels layer seals what it writes to Redis, and delivers only what opens."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.test import override_settings

from sessions_store.channel_layer import SealedRedisChannelLayer

SECRET = "answer-1f3a9c-only-the-waiter-may-read"


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()


def _layer(redis_url: str, **config: Any) -> SealedRedisChannelLayer:
    return SealedRedisChannelLayer(hosts=[redis_url], **config)


def _stored(raw: redis.Redis) -> list[bytes]:
    members: list[bytes] = []
    for key in raw.scan_iter(b"asgi*"):
        if raw.type(key) == b"zset" and b":group:" not in key:
            members += [m for m in raw.zrange(key, 0, -1) if isinstance(m, bytes)]
    return members


def test_a_relayed_answer_is_sealed_in_redis_and_delivered(redis_url: str, raw: redis.Redis):
    layer = _layer(redis_url)

    async def main() -> dict:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "mcp.answer", "result": {"text": SECRET}})
        stored = _stored(raw)
        assert len(stored) == 1
        assert SECRET.encode() not in stored[0]
        assert b"mcp.answer" not in stored[0]
        return await asyncio.wait_for(layer.receive(channel), 30)

    assert asyncio.run(main()) == {"type": "mcp.answer", "result": {"text": SECRET}}


def test_a_group_announcement_is_sealed_and_reaches_the_member(redis_url: str, raw: redis.Redis):
    layer = _layer(redis_url)

    async def main() -> dict:
        channel = await layer.new_channel()
        await layer.group_add("mcp-tenant-7", channel)
        await layer.group_send("mcp-tenant-7", {"type": "mcp.event", "method": SECRET})
        assert all(SECRET.encode() not in member for member in _stored(raw))
        return await asyncio.wait_for(layer.receive(channel), 30)

    assert asyncio.run(main())["method"] == SECRET


def test_a_message_moved_to_another_queue_is_dropped(redis_url: str, raw: redis.Redis):
    sender, receiver = _layer(redis_url), _layer(redis_url)

    async def main() -> dict:
        elsewhere = await sender.new_channel()
        target = await receiver.new_channel()
        await sender.send(elsewhere, {"type": "mcp.answer", "result": "planted"})
        (envelope,) = _stored(raw)
        raw.zadd(b"asgi" + receiver.non_local_name(target).encode(), {envelope: 1})
        await receiver.send(target, {"type": "mcp.answer", "result": "genuine"})
        return await asyncio.wait_for(receiver.receive(target), 30)

    # The planted envelope fails to open under the other queue's name and is skipped.
    assert asyncio.run(main())["result"] == "genuine"


def test_messages_sealed_under_a_retired_key_open_after_rotation(redis_url: str, raw: redis.Redis):
    layer = _layer(redis_url)
    old, new = "aa" * 32, "bb" * 32

    async def main() -> dict:
        channel = await layer.new_channel()
        with override_settings(MCP_SERVER={"ENCRYPTION_KEYS": [old]}):
            await layer.send(channel, {"type": "mcp.cancel"})
        with override_settings(MCP_SERVER={"ENCRYPTION_KEYS": [new, old]}):
            return await asyncio.wait_for(layer.receive(channel), 30)

    assert asyncio.run(main()) == {"type": "mcp.cancel"}


def test_waits_outlive_the_blocking_pop(redis_url: str, raw: redis.Redis):
    layer = _layer(redis_url)
    assert layer.socket_timeout > layer.brpop_timeout

    async def main() -> dict:
        channel = await layer.new_channel()
        waiting = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(layer.brpop_timeout + 2)
        assert not waiting.done(), waiting
        await layer.send(channel, {"type": "mcp.answer"})
        return await asyncio.wait_for(waiting, 30)

    assert asyncio.run(main()) == {"type": "mcp.answer"}


def test_a_burst_larger_than_the_pool_waits_for_connections(redis_url: str, raw: redis.Redis):
    layer = _layer(redis_url, max_connections=2)

    async def main() -> int:
        channels = [await layer.new_channel() for _ in range(60)]
        await asyncio.gather(*(layer.group_add("mcp-tenant-9", c) for c in channels))
        await asyncio.gather(*(layer.group_discard("mcp-tenant-9", c) for c in channels[:30]))
        return int(raw.zcard(b"asgi:group:mcp-tenant-9"))

    assert asyncio.run(main()) == 30


def test_encryption_keys_of_channels_redis_are_refused(redis_url: str):
    with pytest.raises(ValueError, match="key ring"):
        _layer(redis_url, symmetric_encryption_keys=["k"])
