"""Audit records of refused credentials: written whatever the client sent, capped per source
address and per tenant, with what was suppressed counted on the next record.

Run on PostgreSQL too: its text and jsonb types refuse NUL and lone surrogates, which SQLite
stores without complaint.
"""

import base64
import json
from typing import Any

import pytest

from tenants import auditchain
from tenants.audit import Actor, audit_record
from tenants.auth import auditbudget
from tenants.models import AuditLog

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE = "\u0000evil\n2026-01-01 INFO forged line\u202e\ud800"


def _segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def hostile_jwt(**header: Any) -> str:
    header = {"alg": "RS256", "typ": "JWT", **header}
    return f"{_segment(header)}.{_segment({'iss': 'https://idp.example'})}.c2lnbmF0dXJl"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(auditbudget, "clock", fake)
    return fake


def _failures(**filters: Any) -> Any:
    return AuditLog.objects.filter(action="auth.failure", **filters).order_by("pk")


def _no_raw_control_characters(record: AuditLog) -> None:
    text = json.dumps(record.details, ensure_ascii=False) + record.target + record.actor
    assert "\x00" not in text and "\n" not in text and "\u202e" not in text


def test_a_nul_in_a_jwt_header_is_still_audited(shared_store, make_tenant, call):
    tenant = make_tenant("acme")
    response = call("/mcp/acme", token=hostile_jwt(crit=[HOSTILE]), client="10.7.0.1")
    assert response.status == 401
    record = _failures().get()
    assert record.tenant == tenant
    _no_raw_control_characters(record)
    # Our words in reason, the client's text apart and quoted.
    assert record.details["reason"] == "unparsable"
    assert "evil" not in record.details["reason"]
    assert "evil" in record.details["client_text"]
    assert "\\x00" in record.details["client_text"]


def test_client_text_is_bounded(shared_store, make_tenant, call):
    make_tenant("acme")
    assert call("/mcp/acme", token=hostile_jwt(crit=["x" * 5000])).status == 401
    assert len(_failures().get().details["client_text"]) < 400


def test_the_suppressed_count_survives_a_hostile_first_record(
    shared_store, make_tenant, call, clock, settings
):
    make_tenant("acme")
    forged = "mcpk_" + "A" * 43
    for _ in range(13):
        assert call("/mcp/acme", token=forged, client="10.7.0.2").status == 401
    assert _failures(client_ip="10.7.0.2").count() == 10
    clock.now += auditbudget.WINDOW + 1
    # The first record of the next minute carries the count, and a NUL.
    assert call("/mcp/acme", token=hostile_jwt(crit=[HOSTILE]), client="10.7.0.2").status == 401
    last = _failures(client_ip="10.7.0.2").last()
    assert last is not None and last.details["suppressed"] == 3
    _no_raw_control_characters(last)


def test_a_lost_write_hands_its_count_to_the_next_record(
    shared_store, make_tenant, call, clock, monkeypatch
):
    make_tenant("acme")
    forged = "mcpk_" + "B" * 43
    for _ in range(12):
        call("/mcp/acme", token=forged, client="10.7.0.3")
    clock.now += auditbudget.WINDOW + 1

    def refuse(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("database unavailable")

    with monkeypatch.context() as patched:
        patched.setattr(auditchain, "append", refuse)
        assert call("/mcp/acme", token=forged, client="10.7.0.3").status == 401
    assert call("/mcp/acme", token=forged, client="10.7.0.3").status == 401
    last = _failures(client_ip="10.7.0.3").last()
    assert last is not None and last.details["suppressed"] == 3  # 2 suppressed + 1 lost


def test_a_flood_from_many_addresses_is_capped_per_tenant(
    shared_store, make_tenant, call, clock, settings
):
    settings.MCP_SERVER = {**settings.MCP_SERVER, "AUTH_FAILURE_AUDIT_PER_TENANT_PER_MINUTE": 20}
    make_tenant("acme")
    make_tenant("globex")
    forged = "mcpk_" + "C" * 43
    for n in range(30):
        assert call("/mcp/acme", token=forged, client=f"127.0.1.{n}").status == 401
    assert _failures(target="acme").count() == 20
    # Another tenant's budget is its own.
    assert call("/mcp/globex", token=forged, client="127.0.1.1").status == 401
    assert _failures(target="globex").count() == 1
    clock.now += auditbudget.WINDOW + 1
    assert call("/mcp/acme", token=forged, client="127.0.2.1").status == 401
    last = _failures(target="acme").last()
    assert last is not None and last.details["suppressed_for_tenant"] == 10


def test_the_tenant_cap_has_a_default():
    assert auditbudget.mcp_settings.AUTH_FAILURE_AUDIT_PER_TENANT_PER_MINUTE == 100


def test_audit_record_cleans_whatever_it_is_given(make_tenant):
    tenant = make_tenant("acme")
    audit_record(
        actor=Actor(name="x\u0000y", request_id="r\u0000"),
        action="test.hostile",
        tenant=tenant,
        target=HOSTILE,
        details={"k\u0000": [HOSTILE, float("nan")], "deep": {"a": {"b": {"c": {"d": 1}}}}},
    )
    record = AuditLog.objects.get(action="test.hostile")
    _no_raw_control_characters(record)
    assert record.details["k\\x00"][1] == "nan"
