"""Two writers that each hold what the other wants next both finish, on PostgreSQL.

An audit writer locks its tenant's chain head and then inserts a row, whose foreign key takes
a KEY SHARE lock on the tenant; a service (suspension, key revocation) locks the tenant's (or
key's) row and then appends to the same chain. With FOR UPDATE on the service's row those two
deadlock and PostgreSQL aborts one; FOR NO KEY UPDATE does not block KEY SHARE, so the writer
goes on, commits, and the service gets the head.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from tenants import auditchain
from tenants.audit import Actor, audit_record
from tenants.models import ApiKey, AuditLog, Tenant
from tenants.services import credentials
from tenants.services import tenants as tenant_services

pytestmark = pytest.mark.django_db(transaction=True)


def _writer_holding_the_head(
    tenant: Tenant,
    service_locked: threading.Event,
    head_held: threading.Event,
    errors: list[Exception],
) -> threading.Thread:
    def write() -> None:
        try:
            with transaction.atomic():
                auditchain.locked_head(tenant.pk)
                head_held.set()
                # The service now holds its row and is about to wait for this head.
                if not service_locked.wait(10):
                    raise AssertionError("the service never locked its row")
                audit_record(actor=Actor("drainer"), action="test.write", tenant=tenant)
        except Exception as exc:  # noqa: BLE001 (reported by the test)
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's connection

    return threading.Thread(target=write, name="audit-writer")


def _signalling(module: Any, monkeypatch: pytest.MonkeyPatch, locked: threading.Event) -> None:
    """The service's audit_record first says the service holds its row (it takes it just
    before auditing), then appends as it would."""
    real = module.audit_record

    def audit(**kwargs: Any) -> None:
        locked.set()
        real(**kwargs)

    monkeypatch.setattr(module, "audit_record", audit)


def _race(tenant: Tenant, service: Callable[[], Any], module: Any, monkeypatch: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes write transactions: no two hold locks at once")
    head_held, service_locked = threading.Event(), threading.Event()
    errors: list[Exception] = []
    _signalling(module, monkeypatch, service_locked)
    writer = _writer_holding_the_head(tenant, service_locked, head_held, errors)
    writer.start()
    try:
        assert head_held.wait(10)
        service()  # locks its row, then waits for the head the writer holds
    finally:
        service_locked.set()
        writer.join(15)
    assert not writer.is_alive()
    assert errors == []


def test_a_suspension_and_an_audit_writer_both_finish(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    def suspend() -> None:
        tenant_services.tenant_suspend(tenant=tenant, actor=Actor("operator"))

    _race(tenant, suspend, tenant_services, monkeypatch)
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.SUSPENDED
    assert set(AuditLog.objects.values_list("action", flat=True)) >= {
        "test.write",
        "tenant.suspend",
    }
    assert auditchain.verify(tenant.pk).intact


def test_a_key_revocation_and_an_audit_writer_both_finish(
    tenant: Tenant,
    make_api_key: Callable[..., tuple[ApiKey, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key, _raw = make_api_key(tenant)

    def revoke() -> None:
        credentials.api_key_revoke(key=key, actor=Actor("operator"))

    _race(tenant, revoke, credentials, monkeypatch)
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert {"test.write", "api_key.revoke"} <= set(
        AuditLog.objects.values_list("action", flat=True)
    )
    assert auditchain.verify(tenant.pk).intact
