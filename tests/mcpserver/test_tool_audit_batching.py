"""Group commit of the audit appends: calls that submit their records in the same event-loop
tick share one Redis round trip, and each is answered only once its own record is in the
stream; a batch that fails sends exactly its own records to the in-process queue."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from sessions_store import metrics
from sessions_store.crypto import get_keyring
from tenants import auditchain, toolaudit
from tenants.models import AuditLog
from tests.mcpserver.test_tool_audit import tool_call_record
from tests.sessions_store.conftest import use_redis_store  # noqa: F401 (a fixture)

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
