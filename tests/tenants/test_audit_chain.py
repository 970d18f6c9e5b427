"""The audit log's hash chain: every row linked, tampering found by verify_audit, no fork
under concurrent writers, and rows written before the chain existed chained by migration."""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import ManagementUtility
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor

from tenants import auditchain, services
from tenants.audit import Actor, audit_record
from tenants.models import AuditLog, Tenant

pytestmark = pytest.mark.django_db(transaction=True)


def verify_cli(slug: str) -> tuple[int, str]:
    """Through the real command line: exit status and its one line."""
    out, err = StringIO(), StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            ManagementUtility(["manage.py", "verify_audit", slug]).execute()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue() + err.getvalue()


@pytest.fixture
def chained(make_tenant: Callable[..., Tenant], make_api_key: Callable[..., Any]) -> Tenant:
    tenant = make_tenant("chain")
    for name in ("one", "two", "three"):
        make_api_key(tenant, name=name)
    return tenant


def rows_of(tenant: Tenant) -> list[AuditLog]:
    return list(AuditLog.objects.filter(tenant=tenant).order_by("seq"))


def test_rows_are_linked_and_verify_audit_says_intact(chained: Tenant) -> None:
    rows = rows_of(chained)
    assert [r.seq for r in rows] == [1, 2, 3, 4]
    assert rows[0].prev_digest == auditchain.GENESIS
    assert all(b.prev_digest == a.digest for a, b in itertools.pairwise(rows))
    code, output = verify_cli("chain")
    assert code == 0, output
    assert "intact: 4 rows" in output and rows[-1].digest in output


def _sql(statement: str, *params: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_a_changed_row_is_named(chained: Tenant) -> None:
    target = rows_of(chained)[1]
    _sql("UPDATE tenants_auditlog SET actor = %s WHERE id = %s", "admin:someone-else", target.pk)
    code, output = verify_cli("chain")
    assert code == 1
    assert f"row id {target.pk} at seq 2: changed" in output


def test_a_removed_row_is_named(chained: Tenant) -> None:
    target = rows_of(chained)[2]
    _sql("DELETE FROM tenants_auditlog WHERE id = %s", target.pk)
    code, output = verify_cli("chain")
    assert code == 1 and "seq 3 removed" in output


def test_a_removed_last_row_is_named(chained: Tenant) -> None:
    _sql("DELETE FROM tenants_auditlog WHERE id = %s", rows_of(chained)[-1].pk)
    code, output = verify_cli("chain")
    assert code == 1 and "seq 4-4 removed" in output


def test_an_inserted_row_is_named(chained: Tenant) -> None:
    rows = rows_of(chained)
    # Make room after seq 2 and insert a forged row there, as someone without the chain would.
    for shift in (1000, -999):  # in two steps: (tenant, seq) stays unique on the way
        _sql(
            "UPDATE tenants_auditlog SET seq = seq + %s WHERE tenant_id = %s AND seq > 2",
            shift,
            chained.pk,
        )
    forged = rows[1]
    _sql(
        "INSERT INTO tenants_auditlog (time, tenant_id, actor, action, target, outcome, "
        "request_id, details, seq, prev_digest, digest) "
        "VALUES (%s, %s, 'admin:forger', 'tenant.update', '', 'success', '', '{}', 3, %s, %s)",
        forged.time, chained.pk, forged.digest, "f" * 64,
    )  # fmt: skip
    code, output = verify_cli("chain")
    assert code == 1 and "at seq 3: changed" in output


def test_an_appended_row_without_the_head_is_named(chained: Tenant) -> None:
    last = rows_of(chained)[-1]
    _sql(
        "INSERT INTO tenants_auditlog (time, tenant_id, actor, action, target, outcome, "
        "request_id, details, seq, prev_digest, digest) "
        "VALUES (%s, %s, 'admin:forger', 'tenant.update', '', 'success', '', '{}', 5, %s, %s)",
        last.time, chained.pk, last.digest, "e" * 64,
    )  # fmt: skip
    code, output = verify_cli("chain")
    assert code == 1 and "seq 5" in output


def test_verify_audit_refuses_an_unknown_tenant(db: Any) -> None:
    code, output = verify_cli("nobody")
    assert code == 1 and "No tenant 'nobody'" in output


def test_concurrent_writers_do_not_fork_the_chain(chained: Tenant) -> None:
    if connection.vendor == "sqlite":
        # The in-memory test database locks tables in shared-cache mode and fails at once; a
        # real SQLite file serializes IMMEDIATE transactions (the server-process tests write
        # from several processes into one).
        pytest.skip("runs on PostgreSQL: the in-memory SQLite test database cannot wait")
    writers, per_writer = 4, 10
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            for n in range(per_writer):
                audit_record(
                    actor=Actor.system(f"writer-{index}"),
                    action="test.concurrent",
                    tenant=chained,
                    target=str(n),
                )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = rows_of(chained)
    assert [r.seq for r in rows] == list(range(1, 4 + writers * per_writer + 1))
    assert auditchain.verify(chained.pk).intact


def test_rows_without_a_tenant_form_their_own_chain(chained: Tenant) -> None:
    for n in range(3):
        audit_record(actor=Actor.system("cli:test"), action="system.thing", target=str(n))
    assert [r.seq for r in AuditLog.objects.filter(tenant=None).order_by("seq")] == [1, 2, 3]
    assert auditchain.verify(None).intact and auditchain.verify(chained.pk).intact


def test_the_migration_chains_rows_written_before_it(transactional_db: Any) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("tenants", "0006_tenant_disabled_tools")])
    old = executor.loader.project_state([("tenants", "0006_tenant_disabled_tools")]).apps
    tenant = old.get_model("tenants", "Tenant").objects.create(slug="old", name="Old")
    OldLog = old.get_model("tenants", "AuditLog")
    for n in range(5):
        OldLog.objects.create(tenant_id=tenant.pk, actor="admin:x", action="a", target=str(n))
    OldLog.objects.create(tenant_id=None, actor="cli:x", action="b")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert auditchain.verify(tenant.pk).rows == 5 and auditchain.verify(tenant.pk).intact
    assert auditchain.verify(None).intact
    # New rows continue the migrated chain.
    services.tenant_update(
        tenant=Tenant.objects.get(pk=tenant.pk), name="Older", toolsets=[], actor=Actor.system("t")
    )
    assert auditchain.verify(tenant.pk).rows == 6 and auditchain.verify(tenant.pk).intact
