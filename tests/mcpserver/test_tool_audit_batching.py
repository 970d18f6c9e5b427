"""Group commit of the audit appends: calls that submit their records in the same event-loop
tick share one Redis round trip, and each is answered only once its own record is in the
stream; a batch that fails sends exactly its own records to the in-process queue."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from sessions_store import metrics
from sessions_store.cache_config import store_cache
from sessions_store.crypto import get_keyring
from sessions_store.store import get_store
from tenants import auditchain, toolaudit
from tenants.models import AuditLog
from tests.mcpserver.test_tool_audit import tool_call_record
from tests.sessions_store.conftest import (  # noqa: F401 (fixtures)
    RedisServer,
    private_redis,
    use_redis_store,
    wait_live,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _settings(**extra: Any) -> Any:
    return override_settings(
        MCP_SERVER={
            **settings.MCP_SERVER,
            "AUDIT_WRITE_INLINE": False,
            "AUDIT_DRAIN_IN_PROCESS": False,
            **extra,
        }
    )


def _stored_tools(client: redis.Redis, stream: bytes) -> list[str]:
    """The tools named by the records in ``stream``, opened as a drainer opens them."""
    import json

    tools = []
    entries: Any = client.xrange(stream)
    for _id, fields in entries:
        opened = get_keyring().open(fields[b"d"], aad=stream)
        assert opened is not None
        tools.append(json.loads(opened)["tool"])
    return tools


def test_calls_in_one_tick_share_a_round_trip_and_each_waits_for_its_own_record(
    tenant: Any,
    use_redis_store: str,  # noqa: F811
) -> None:
    client = redis.Redis.from_url(use_redis_store)
    with _settings():
        journal = toolaudit.journal()
        assert journal.stream is not None
        stream = journal.stream.name
        seen_on_return: dict[str, list[str]] = {}

        async def call(n: int) -> None:
            await toolaudit.submit(tool_call_record(tenant.pk, f"tool-{n}"))
            # The moment the call may be answered, its record is already in Redis.
            seen_on_return[f"tool-{n}"] = _stored_tools(client, stream)

        async def many() -> None:
            await asyncio.gather(*(call(n) for n in range(20)))

        batches, commands = metrics.get("redis.batches"), metrics.get("redis.batched_commands")
        asyncio.run(many())
        assert metrics.get("redis.batches") - batches == 1
        assert metrics.get("redis.batched_commands") - commands == 20
        for tool, stored in seen_on_return.items():
            assert tool in stored
        assert sorted(_stored_tools(client, stream)) == sorted(seen_on_return)
        assert journal.drain_until_empty() == 20
        assert AuditLog.objects.filter(action=toolaudit.ACTION).count() == 20


def test_a_failed_batch_sends_only_its_own_records_to_the_queue(
    tenant: Any,
    use_redis_store: str,  # noqa: F811
) -> None:
    client = redis.Redis.from_url(use_redis_store)
    client.set(b"j:wrong-type", b"not a stream")
    with _settings(AUDIT_APPEND_TIMEOUT=0.5):
        journal = toolaudit.journal()
        appender = journal.stream
        assert appender is not None
        stream = appender.name

        async def batch(prefix: str) -> None:
            await asyncio.gather(
                *(toolaudit.submit(tool_call_record(tenant.pk, f"{prefix}-{n}")) for n in range(10))
            )

        async def two_batches() -> None:
            appender.name = b"j:wrong-type"  # every XADD of this batch fails
            await batch("failed")
            appender.name = stream
            await batch("stored")

        asyncio.run(two_batches())
        # The failed batch's records went through the in-process queue to the database ...
        assert journal.flush(timeout=10)
        written = AuditLog.objects.filter(action=toolaudit.ACTION)
        assert sorted(written.values_list("target", flat=True)) == sorted(
            f"failed-{n}" for n in range(10)
        )
        # ... the other batch's are in the stream, untouched, for a drainer.
        assert sorted(_stored_tools(client, stream)) == sorted(f"stored-{n}" for n in range(10))
        assert journal.drain_until_empty() == 10
        assert written.count() == 20
        assert auditchain.verify(tenant.pk).intact


def test_a_caller_cancelled_while_waiting_leaves_the_others_answered(
    tenant: Any,
    use_redis_store: str,  # noqa: F811
) -> None:
    client = redis.Redis.from_url(use_redis_store)
    with _settings():
        journal = toolaudit.journal()
        assert journal.stream is not None

        async def run() -> None:
            tasks = [
                asyncio.ensure_future(toolaudit.submit(tool_call_record(tenant.pk, f"t-{n}")))
                for n in range(5)
            ]
            await asyncio.sleep(0)  # every task has queued its record
            tasks[0].cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert isinstance(results[0], asyncio.CancelledError)
            assert results[1:] == [None] * 4

        asyncio.run(run())
        stored = _stored_tools(client, journal.stream.name)
        assert {f"t-{n}" for n in range(1, 5)} <= set(stored)
        # The cancelled caller's record went to the in-process queue as well (it may be in the
        # stream too): every record is in the database once.
        assert journal.flush(timeout=10)
        journal.drain_until_empty()
        written = AuditLog.objects.filter(action=toolaudit.ACTION)
        assert sorted(written.values_list("target", flat=True)) == [f"t-{n}" for n in range(5)]


def test_a_record_whose_caller_is_cancelled_while_redis_is_frozen_is_written_once(
    tenant: Any,
    private_redis: RedisServer,  # noqa: F811
) -> None:
    caches = {**settings.CACHES, "store": store_cache(private_redis.url)}
    with override_settings(CACHES=caches), _settings(AUDIT_APPEND_TIMEOUT=2.0):
        wait_live(get_store())
        journal = toolaudit.journal()
        assert journal.stream is not None
        written = AuditLog.objects.filter(action=toolaudit.ACTION)

        async def cancelled_while_waiting() -> None:
            private_redis.freeze()  # the XADD is sent, and nothing answers it
            task = asyncio.ensure_future(toolaudit.submit(tool_call_record(tenant.pk, "frozen")))
            await asyncio.sleep(0.2)
            assert not task.done()
            task.cancel()  # the client left
            with pytest.raises(asyncio.CancelledError):
                await task

        try:
            asyncio.run(cancelled_while_waiting())
            # In the database while Redis is still frozen: not left in a socket buffer.
            assert journal.flush(timeout=10)
            assert list(written.values_list("target", flat=True)) == ["frozen"]
        finally:
            private_redis.thaw()
        # Whatever reached the stream as well is drained and skipped: still one row.
        wait_live(get_store())
        journal.drain_until_empty(deadline=time.monotonic() + 10)
        assert list(written.values_list("target", flat=True)) == ["frozen"]
        assert auditchain.verify(tenant.pk).intact
