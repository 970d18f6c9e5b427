"""Audit retention trims the oldest rows from a tenant's hash chain and keeps it verifiable."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from mcpserver.conf import mcp_settings
from tenants import auditchain, services
from tenants.models import AuditLog, Tenant
from tenants.tasks import apply_audit_retention
from tests.jobs.helpers import actions, old_rows

pytestmark = pytest.mark.django_db


def _cutoff(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


@pytest.fixture
def old_tenant(db):
    """A tenant whose chain starts long ago (created before this server kept audit rows)."""
    return Tenant.objects.create(slug="old-co", name="Old Co")


def test_trim_stops_at_the_first_row_inside_the_period(tenant, actor):
    # tenant.create, dated now, is first in the chain: the old rows after it must wait, the
    # chain is only ever trimmed from its start.
    old_rows(tenant, days_ago=[500, 450])

    result = services.audit_trim(tenant=tenant, before=_cutoff(400), actor=actor)

    assert result.rows == 0
    assert actions(tenant) == ["tenant.create", "test.old", "test.old"]
    assert auditchain.verify(tenant.pk).intact


def test_a_tenants_old_rows_are_trimmed_and_verify_audit_says_so(old_tenant, actor):
    old_rows(old_tenant, days_ago=[700, 600, 30])

    result = services.audit_trim(tenant=old_tenant, before=_cutoff(400), actor=actor)

    assert (result.rows, result.through_seq) == (2, 2)
    assert actions(old_tenant) == ["test.old", "audit.trim"]
    out = StringIO()
    call_command("verify_audit", "old-co", stdout=out)
    assert "intact: 2 rows" in out.getvalue()
    assert "(seq 1-2 trimmed by retention)" in out.getvalue()


def test_old_prefix_is_trimmed_and_audited(actor):
    # The chain of rows without a tenant starts with whatever we put there: old rows first.
    old_rows(None, days_ago=[500, 450, 401, 399, 10])
    before = _cutoff(400)

    result = services.audit_trim(tenant=None, before=before, actor=actor)

    assert (result.rows, result.through_seq, result.complete) == (3, 3, True)
    left = list(AuditLog.objects.filter(tenant=None).order_by("seq"))
    assert [row.target for row in left] == ["399", "10", ""]
    trim = left[-1]
    assert trim.action == "audit.trim"
    assert trim.details["rows"] == 3 and trim.details["through_seq"] == 3
    assert trim.details["anchor_digest"] == left[0].prev_digest  # the last trimmed row's digest
    verdict = auditchain.verify(None)
    assert verdict.intact, verdict.broken
    assert (verdict.rows, verdict.trimmed_through) == (3, 3)


def test_a_second_trim_with_the_same_cutoff_changes_nothing(actor):
    old_rows(None, days_ago=[500, 450, 10])
    before = _cutoff(400)
    services.audit_trim(tenant=None, before=before, actor=actor)
    count = AuditLog.objects.filter(tenant=None).count()

    again = services.audit_trim(tenant=None, before=before, actor=actor)

    assert again.rows == 0
    assert AuditLog.objects.filter(tenant=None).count() == count  # no second audit.trim row
    assert auditchain.verify(None).intact


def test_trim_in_batches_keeps_the_chain_valid_after_each(actor):
    old_rows(None, days_ago=[900 - i for i in range(7)] + [1])
    result = services.audit_trim(tenant=None, before=_cutoff(400), actor=actor, batch=3)

    assert result.rows == 7
    trims = AuditLog.objects.filter(tenant=None, action="audit.trim").order_by("seq")
    assert [t.details["rows"] for t in trims] == [3, 3, 1]
    assert auditchain.verify(None).intact


def test_removing_a_row_after_a_trim_is_still_caught(actor):
    old_rows(None, days_ago=[500, 450, 10, 5, 1])
    services.audit_trim(tenant=None, before=_cutoff(400), actor=actor)
    victim = AuditLog.objects.get(tenant=None, target="5")
    from django.db import models

    models.QuerySet.delete(AuditLog.objects.filter(pk=victim.pk))  # tampering, bypassing the log

    verdict = auditchain.verify(None)
    assert not verdict.intact
    assert f"seq {victim.seq} removed" in verdict.broken


def test_tenant_setting_overrides_the_default(make_tenant, actor):
    tenant = make_tenant("short")
    services.tenant_set_audit_retention(tenant=tenant, days=30, actor=actor)
    assert actions(tenant)[-1] == "tenant.set_audit_retention"
    from tenants.services.retention import retention_days

    assert retention_days(tenant) == 30
    assert retention_days(make_tenant("long")) == mcp_settings.AUDIT_RETENTION_DAYS == 400
    with override_settings(MCP_SERVER={"AUDIT_RETENTION_DAYS": None}):
        assert retention_days(make_tenant("forever")) is None


def test_retention_job_trims_every_chain_with_its_own_cutoff(
    old_tenant, actor, django_capture_on_commit_callbacks
):
    # Eager tasks (no broker): the beat job enqueues one trim per chain when it commits.
    old_rows(None, days_ago=[500, 10])
    old_rows(old_tenant, days_ago=[50, 40, 10])
    services.tenant_set_audit_retention(tenant=old_tenant, days=45, actor=actor)

    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert apply_audit_retention.delay().get() == 2  # old-co and the rows without a tenant
    assert len(sent) == 2

    assert actions(old_tenant) == [
        "test.old",
        "test.old",
        "tenant.set_audit_retention",
        "audit.trim",
    ]
    kept = AuditLog.objects.filter(tenant=None).order_by("seq").values_list("target", flat=True)
    assert list(kept) == ["10", ""]
    assert auditchain.verify(None).intact and auditchain.verify(old_tenant.pk).intact


def test_commands(make_tenant):
    tenant = make_tenant("cmd")
    out = StringIO()
    call_command("set_audit_retention", "cmd", "90", stdout=out)
    assert "cmd: audit rows kept 90 days" in out.getvalue()
    tenant.refresh_from_db()
    assert tenant.audit_retention_days == 90
    call_command("set_audit_retention", "cmd", "default", stdout=out)
    tenant.refresh_from_db()
    assert tenant.audit_retention_days is None
    with pytest.raises(CommandError, match="whole number"):
        call_command("set_audit_retention", "cmd", "-3")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("set_audit_retention", "nope", "3")

    old_rows(None, days_ago=[800, 700, 3])
    out = StringIO()
    call_command("trim_audit", stdout=out)
    assert "(no tenant): 2 row(s) older than" in out.getvalue()
    assert "cmd: 0 row(s)" in out.getvalue()
    out = StringIO()
    call_command("verify_audit", "cmd", stdout=out)
    assert "intact" in out.getvalue()
