"""Beat and a worker as separate processes on a real Redis broker: the jobs run, and a
worker killed mid-job loses nothing and completes nothing twice.

Worker processes must see the test database: PostgreSQL only (the SQLite test database lives
in this process's memory).
"""

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from django.db import connection
from django.utils import timezone

from mcpserver.celery import app
from sessions_store.models import StoreEntry
from sessions_store.store import get_store
from tenants import auditchain, services
from tenants.models import AuditLog, IdentityProvider, Tenant
from tenants.tasks import refresh_provider_jwks, trim_audit
from tests.jobs.helpers import old_rows
from tests.jobs.stub import JwksStub
from tests.jobs.workers import Jobs, broker_url, reset_connections, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(redis_url: str) -> Iterator[str]:
    if connection.vendor != "postgresql":
        pytest.skip("a worker process cannot see the in-memory SQLite test database")
    url = broker_url(redis_url)
    saved = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = url, False
    reset_connections(app)
    with app.connection_for_write() as conn:  # a queue left by another test is not ours
        conn.default_channel.client.delete("celery", "unacked", "unacked_index")
    try:
        yield url
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        reset_connections(app)


@pytest.fixture
def stub(signing_keys) -> Iterator[JwksStub]:
    server = JwksStub(keys=list(signing_keys.values()))
    yield server
    server.stop()


def _provider(tenant: Tenant, stub: JwksStub, name: str, actor) -> IdentityProvider:
    return services.identity_provider_create(
        tenant=tenant, issuer=stub.url(f"/{name}"), jwks_uri=stub.url(f"/jwks/{name}"),
        allow_private_network=True, actor=actor,
    )  # fmt: skip


def _refreshed(*providers: IdentityProvider) -> bool:
    rows = IdentityProvider.objects.filter(pk__in=[p.pk for p in providers])
    return all(row.keys_refreshed_at is not None for row in rows)


def test_beat_and_worker_refresh_jwks_purge_and_trim(broker, stub, make_tenant, actor, tmp_path):
    provider = _provider(make_tenant("acme"), stub, "acme", actor)
    store = get_store()
    store.set("jobs-test:live", b"keep me", ttl=600)
    store.set("jobs-test:dead", b"drop me", ttl=0.2)
    old_rows(None, days_ago=[700, 500, 3])  # the chain of rows without a tenant
    time.sleep(0.3)
    expired = StoreEntry.objects.filter(expires_at__lt=time.time())
    assert expired.count() == 1  # expired, but nothing has purged it yet

    jobs = Jobs(broker=broker, tmp=tmp_path, settings_module="tests.jobs.beat_settings")
    try:
        jobs.worker()
        jobs.beat()
        wait_for(lambda: _refreshed(provider), timeout=60, what="a JWKS refresh", jobs=jobs)
        wait_for(lambda: not expired.exists(), timeout=30, what="purge", jobs=jobs)
        wait_for(
            lambda: AuditLog.objects.filter(tenant=None, action="audit.trim").exists(),
            timeout=30, what="the audit trim", jobs=jobs,
        )  # fmt: skip
        time.sleep(2.5)  # beat keeps sending every job each second meanwhile
    finally:
        jobs.stop()

    row = IdentityProvider.objects.get(pk=provider.pk)
    assert row.key_ids == ["ec-1", "rsa-1"] and row.keys_error == ""
    assert store.get("jobs-test:live") == b"keep me"
    rows = AuditLog.objects.filter(tenant=None).order_by("seq")
    # The two old rows went, once: later runs of the same job found nothing more to trim.
    assert [r.action for r in rows] == ["test.old", "audit.trim"]
    assert rows[1].details["rows"] == 2
    assert auditchain.verify(None).intact
    assert stub.hits["/jwks/acme"] >= 2  # refreshed again and again by beat


def test_a_worker_killed_mid_job_loses_none_and_runs_none_twice(
    broker, stub, make_tenant, actor, tmp_path
):
    slow, one, two = (
        _provider(make_tenant(name), stub, name, actor) for name in ("slow", "one", "two")
    )
    old_rows(None, days_ago=[900, 800, 1])
    stub.hold_first.add("/jwks/slow")
    cutoff = (timezone.now() - dt.timedelta(days=400)).isoformat()
    for provider in (slow, one, two):
        refresh_provider_jwks.delay(provider.pk)
    trim_audit.delay(None, cutoff)
    trim_audit.delay(None, cutoff)  # the same job sent twice: its effect happens once

    jobs = Jobs(broker=broker, tmp=tmp_path)
    try:
        first = jobs.worker()
        assert stub.held.wait(60), jobs.logs()  # the slow job is mid-flight, awaiting its JWKS
        Jobs.kill(first)  # SIGKILL, pool children included: nothing acknowledged the job
        assert not _refreshed(slow) and not _refreshed(one)  # one at a time: the rest queued
        jobs.worker()
        wait_for(
            lambda: _refreshed(slow, one, two)
            and AuditLog.objects.filter(tenant=None, action="audit.trim").exists(),
            timeout=90, what="every job after the restart", jobs=jobs,
        )  # fmt: skip
        time.sleep(1.0)  # nothing else is still on its way
    finally:
        jobs.stop()

    # The killed job ran again (its first try never finished); the others ran exactly once.
    assert stub.hits == {"/jwks/slow": 2, "/jwks/one": 1, "/jwks/two": 1}
    assert IdentityProvider.objects.get(pk=slow.pk).key_ids == ["ec-1", "rsa-1"]
    trims = AuditLog.objects.filter(tenant=None, action="audit.trim")
    assert [t.details["rows"] for t in trims] == [2]
    assert auditchain.verify(None).intact
