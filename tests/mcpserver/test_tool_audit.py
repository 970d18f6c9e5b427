"""Every tool call leaves one audit record: what it holds, what it never holds, and the
journal that carries it (Redis stream or in-process queue) delivering each record once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from mcpserver.eras import META_CLIENT_INFO
from tenants import auditchain, toolaudit
from tenants.models import AuditLog, Tenant
from tenants.toolaudit import ToolCallRecord
from tests.mcpserver.conftest import Endpoint
from tests.mcpserver.test_scopes import scoped_endpoint  # noqa: F401 (a fixture)
from tests.sessions_store.conftest import use_redis_store  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_ARGUMENT = "do-not-store-this-value"


def calls() -> list[AuditLog]:
    return list(AuditLog.objects.filter(action=toolaudit.ACTION).order_by("seq"))


def test_each_outcome_is_recorded_with_client_and_version(endpoint: Endpoint) -> None:
    meta = {META_CLIENT_INFO: {"name": "modern-client", "version": "2.0"}}
    ok = endpoint.modern("tools/call", {"name": "whoami", "_meta": meta})
    assert ok.status == 200 and "result" in ok.json()
    failed = endpoint.modern("tools/call", {"name": "test_error_handling", "_meta": meta})
    assert failed.json()["result"]["isError"] is True
    unknown = endpoint.modern("tools/call", {"name": "no_such_tool", "_meta": meta})
    assert unknown.json()["error"]["code"] == -32602
    session = endpoint.initialize()  # clientInfo: pytest 1
    endpoint.legacy(session, "tools/call", {"name": "test_simple_text"})

    rows = calls()
    assert [(r.target, r.details["result"], r.details["code"]) for r in rows] == [
        ("whoami", "ok", None),
        ("test_error_handling", "is_error", None),
        ("no_such_tool", "protocol_error", -32602),
        ("test_simple_text", "ok", None),
    ]
    assert rows[0].details["client"] == {"name": "modern-client", "version": "2.0"}
    assert rows[0].details["protocol_version"] == "2026-07-28"
    assert rows[3].details["client"] == {"name": "pytest", "version": "1"}
    assert rows[3].details["protocol_version"] == "2025-11-25"
    assert all(r.actor.startswith("api_key:ak_") and r.request_id for r in rows)
    assert all(r.details["duration_ms"] >= 0 for r in rows)
    assert len({r.event_id for r in rows}) == 4


def test_arguments_are_a_size_and_a_keyed_digest_never_their_content(endpoint: Endpoint) -> None:
    arguments = {"message": SECRET_ARGUMENT}
    for _ in range(2):
        endpoint.modern("tools/call", {"name": "test_simple_text", "arguments": arguments})
    endpoint.modern("tools/call", {"name": "test_simple_text", "arguments": {"message": "x"}})
    rows = calls()
    stored = json.dumps([r.details for r in rows])
    assert SECRET_ARGUMENT not in stored
    first, second, other = (r.details["arguments"] for r in rows)
    assert first == second and first["hmac"] != other["hmac"]
    assert first["size"] == len(json.dumps(arguments, separators=(",", ":")))
    with override_settings(SECRET_KEY="another-server-key-" + "y" * 40):
        assert toolaudit.arguments_fingerprint(arguments)["hmac"] != first["hmac"]


def test_a_refusal_before_the_tool_runs_is_recorded(scoped_endpoint: Any) -> None:  # noqa: F811
    endpoint = scoped_endpoint(["secrets:read"])
    assert endpoint.modern("tools/call", {"name": "read_secret"}).status == 403
    (row,) = calls()
    assert (row.target, row.outcome, row.details["result"]) == (
        "read_secret",
        AuditLog.Outcome.DENIED,
        "refused",
    )


def tool_call_record(tenant_id: int, tool: str = "whoami", **fields: Any) -> ToolCallRecord:
    """A tool call's record as the request path builds it, for the journal and sink tests."""
    defaults = {"principal": "api_key:ak_test", "result": "ok", "duration_ms": 1.5,
                "request_id": "req-1"}  # fmt: skip
    return ToolCallRecord(tenant_id=tenant_id, tool=tool, **{**defaults, **fields})


def test_the_same_record_delivered_twice_is_one_row(tenant: Any) -> None:
    record = tool_call_record(tenant.pk)
    assert toolaudit.tool_calls_record(payloads=[record.encode(), record.encode()]) == 1
    assert toolaudit.tool_calls_record(payloads=[record.encode()]) == 0
    # Another call that reused the client's request id is still its own record.
    again = tool_call_record(tenant.pk, event_id="another-event")
    assert toolaudit.tool_calls_record(payloads=[again.encode()]) == 1
    assert len(calls()) == 2
    assert auditchain.verify(tenant.pk).intact


def test_a_batch_is_written_whole_in_order_and_chained(tenant: Any) -> None:
    # A drainer's batch takes the bulk path (COPY on PostgreSQL): every field as a lone row's.
    client = {"name": "bench\u0000client", "version": "1"}
    records = [
        tool_call_record(tenant.pk, f"tool-{n}", event_id=f"e{n}", client_ip="::ffff:127.0.0.1",
                         client=client, code=-32602,
                         arguments=toolaudit.arguments_fingerprint({"n": n}))
        for n in range(5)
    ]  # fmt: skip
    assert toolaudit.tool_calls_record(payloads=[r.encode() for r in records]) == 5
    rows = sorted(calls(), key=lambda row: row.seq)
    assert [row.target for row in rows] == [f"tool-{n}" for n in range(5)]
    first = rows[0]
    assert first.client_ip == "::ffff:127.0.0.1" and first.event_id == "e0"
    assert first.details["client"] == {"name": "bench\\x00client", "version": "1"}
    assert first.details["code"] == -32602 and first.details["duration_ms"] == 1.5
    assert first.details["arguments"] == toolaudit.arguments_fingerprint({"n": 0})
    assert auditchain.verify(tenant.pk).intact


def test_a_payload_not_written_by_this_server_is_skipped(tenant: Any) -> None:
    good = tool_call_record(tenant.pk).encode()
    assert toolaudit.tool_calls_record(payloads=[b"not json", b'{"tool": 1}', good]) == 1


def _journal_settings(**extra: Any) -> Any:
    return override_settings(
        MCP_SERVER={**settings.MCP_SERVER, "AUDIT_WRITE_INLINE": False, **extra}
    )


def test_the_stream_holds_records_until_a_drainer_commits_them(
    tenant: Any,
    use_redis_store: str,  # noqa: F811
) -> None:
    with _journal_settings(AUDIT_DRAIN_IN_PROCESS=False):
        journal = toolaudit.journal()
        assert journal.stream is not None
        records = [tool_call_record(tenant.pk, tool=f"tool-{i}") for i in range(25)]

        async def append_all() -> None:
            for record in records:
                await toolaudit.submit(record)

        asyncio.run(append_all())
        assert journal.stream.backlog() == 25 and calls() == []
        # A drainer that reads and dies before committing leaves its batch pending ...
        journal.stream.read("dead-drainer", count=10, block_ms=0, claim_idle_ms=0)
        # ... which another drainer claims once idle, alongside the rest.
        with _journal_settings(AUDIT_DRAIN_IN_PROCESS=False, AUDIT_CLAIM_IDLE=0.0):
            assert toolaudit.journal().drain_until_empty() == 25
        assert sorted(r.target for r in calls()) == sorted(r.tool for r in records)
        assert journal.stream.backlog() == 0
        assert auditchain.verify(tenant.pk).intact


def test_a_failed_commit_leaves_the_entries_for_the_next_round(
    tenant: Any,
    use_redis_store: str,  # noqa: F811
) -> None:
    with _journal_settings(AUDIT_DRAIN_IN_PROCESS=False):
        journal = toolaudit.journal()
        asyncio.run(toolaudit.submit(tool_call_record(tenant.pk)))
        sink = journal._sink

        def broken(payloads: list[bytes]) -> None:
            sink(payloads)  # committed, then the acknowledgement is lost
            raise ConnectionError("lost before XACK")

        journal._sink = broken
        with pytest.raises(ConnectionError):
            journal.drain_stream()
        journal._sink = sink
        assert journal.drain_stream() == 1  # delivered again ...
        assert len(calls()) == 1  # ... and written once


def test_redis_down_records_go_through_the_in_process_queue(
    tenant: Any,
    use_redis_store: str,  # noqa: F811
) -> None:
    with _journal_settings(AUDIT_DRAIN_IN_PROCESS=False, AUDIT_APPEND_TIMEOUT=0.05):
        journal = toolaudit.journal()
        assert journal.stream is not None
        journal.stream.name = b"j:wrong-type"
        redis.Redis.from_url(use_redis_store).set(b"j:wrong-type", b"not a stream")
        asyncio.run(toolaudit.submit(tool_call_record(tenant.pk)))
        assert journal.flush(timeout=10)
        assert len(calls()) == 1


def test_without_redis_the_queue_thread_writes_records(tenant: Any) -> None:
    with _journal_settings():
        journal = toolaudit.journal()
        assert journal.stream is None

        async def append_all() -> None:
            for i in range(30):
                await toolaudit.submit(tool_call_record(tenant.pk, tool=f"t{i % 3}"))

        asyncio.run(append_all())
        assert journal.flush(timeout=10)
        assert len(calls()) == 30
        assert auditchain.verify(tenant.pk).intact


def test_tool_usage_counts_calls_errors_and_refusals(
    scoped_endpoint: Callable[[list[str]], Endpoint],  # noqa: F811
) -> None:
    endpoint = scoped_endpoint([])
    for _ in range(3):
        endpoint.modern("tools/call", {"name": "whoami"})
    endpoint.modern("tools/call", {"name": "read_secret"})
    endpoint.modern("tools/call", {"name": "no_such_tool"})
    # A call its client stopped is a call, neither an error nor a refusal.
    tenant_id = Tenant.objects.get(slug=endpoint.slug).pk
    cancelled = tool_call_record(tenant_id, "whoami", result=toolaudit.Result.CANCELLED)
    toolaudit.tool_calls_record(payloads=[cancelled.encode()])
    out = StringIO()
    call_command("tool_usage", endpoint.slug, "--json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "no_such_tool": {"calls": 1, "errors": 1, "refused": 0},
        "read_secret": {"calls": 1, "errors": 0, "refused": 1},
        "whoami": {"calls": 4, "errors": 0, "refused": 0},
    }
    tomorrow = StringIO()
    call_command("tool_usage", endpoint.slug, "--json", "--since", "2999-01-01", stdout=tomorrow)
    assert json.loads(tomorrow.getvalue()) == {}
    text = StringIO()
    call_command("tool_usage", endpoint.slug, stdout=text)
    assert "read_secret" in text.getvalue() and "whoami" in text.getvalue()


def test_tool_usage_refuses_a_bad_date_and_an_unknown_tenant(tenant: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not an ISO date"):
        call_command("tool_usage", tenant.slug, "--since", "yesterday")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("tool_usage", "nobody")


def test_admin_usage_page_shows_calls_errors_and_a_chart(endpoint: Endpoint, client: Any) -> None:
    from django.contrib.auth import get_user_model

    for name in ("whoami", "whoami", "test_error_handling"):
        endpoint.modern("tools/call", {"name": name})
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests")
    client.force_login(user)
    tenant_id = AuditLog.objects.filter(action=toolaudit.ACTION)[0].tenant_id
    page = client.get(reverse("admin:tenants_tenant_usage", args=[tenant_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<strong id="usage-calls">3</strong>' in html
    assert '<span id="usage-error-rate">33.3</span>' in html
    chart = html[html.index('id="usage-chart"') : html.index("</svg>", html.index("usage-chart"))]
    assert chart.count("<rect") == 2  # one day: its calls, and its errors in red
    assert "3 calls, 1 errors" in chart and "<script" not in chart
    assert "test_error_handling" in html
    change = client.get(reverse("admin:tenants_tenant_change", args=[tenant_id]))
    assert reverse("admin:tenants_tenant_usage", args=[tenant_id]) in change.content.decode()
    assert client.get("/admin/tenants/tenant/999999/usage/").status_code == 404


def test_an_idle_drainer_waits_without_tripping_the_store_breaker(
    tenant: Any,
    use_redis_store: str,  # noqa: F811
) -> None:
    from sessions_store.store import get_store

    with _journal_settings(AUDIT_DRAIN_IN_PROCESS=False):
        journal = toolaudit.journal()
        assert journal.stream is not None
        breaker = journal.stream.backend.breaker
        # Blocking reads longer than the store's 0.5 s socket timeout, on an empty stream.
        for _ in range(2):
            assert journal.drain_stream(block=0.8) == 0
        assert not breaker.is_open
        assert get_store().get("anything") is None  # the shared tier still answers
        asyncio.run(toolaudit.submit(tool_call_record(tenant.pk)))
        assert journal.drain_stream(block=0.8) == 1


def test_a_call_is_answered_even_when_its_record_cannot_be_submitted(
    endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from mcpserver.protocol import call_audit

    async def broken(record: Any) -> None:
        raise RuntimeError("audit sink broken")

    monkeypatch.setattr(call_audit, "submit", broken)
    answer = endpoint.modern("tools/call", {"name": "whoami", "arguments": {}}).message()
    assert answer["result"]["structuredContent"]["tenant"] == endpoint.slug
    assert "tool call audit record not submitted" in caplog.text
