"""The workspace services: what they store, what they refuse, what they audit and announce."""

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError

from tenants.audit import Actor
from tenants.models import AuditLog, Tenant
from tools.events import tenant_group
from tools.workspace import ids, services
from tools.workspace.models import Requirement, Task

pytestmark = pytest.mark.django_db


def test_a_requirement_gets_an_unguessable_id_and_its_repositories(
    tenant: Tenant, make_requirement: Callable[..., Requirement]
) -> None:
    first = make_requirement(tenant, repositories=["acme/api", "acme/web"], priority="high")
    second = make_requirement(tenant)
    assert ids.looks_like(ids.REQUIREMENT_ID_RE, first.public_id)
    assert first.public_id != second.public_id
    stored = Requirement.objects.get(pk=first.pk)
    assert services.requirement_repositories(stored) == ["acme/api", "acme/web"]
    assert (stored.priority, stored.status, stored.created_by) == ("high", "draft", "alice")
    assert stored.uri == f"workspace://requirements/{first.public_id}"


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("title", "   ", "title"),
        ("title", "x" * 201, "title"),
        ("status", "someday", "status"),
        ("priority", "critical", "priority"),
        ("repositories", ["acme/api", "acme/api"], "twice"),
        ("repositories", ["has space"], "repository"),
        ("repositories", [f"r{i}" for i in range(21)], "At most 20"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    tenant: Tenant, actor: Actor, field: str, value: Any, complaint: str
) -> None:
    arguments: dict[str, Any] = {"title": "Fine", field: value}
    with pytest.raises(ValidationError) as refused:
        services.requirement_create(tenant_id=tenant.pk, created_by="a", actor=actor, **arguments)
    assert complaint in str(refused.value)
    assert not Requirement.objects.exists()
    assert not AuditLog.objects.filter(action="requirement.create").exists()


def test_update_changes_only_what_is_given_and_audits_it(
    tenant: Tenant, actor: Actor, make_requirement: Callable[..., Requirement]
) -> None:
    made = make_requirement(tenant, description="Long text", repositories=["acme/api"])
    updated = services.requirement_update(
        tenant_id=tenant.pk, public_id=made.public_id, status="open", repositories=[], actor=actor
    )
    assert (updated.status, updated.title, updated.description) == (
        "open", "Export invoices as CSV", "Long text",
    )  # fmt: skip
    assert services.requirement_repositories(updated) == []
    record = AuditLog.objects.get(action="requirement.update")
    assert record.target == made.public_id and record.tenant_id == tenant.pk
    assert record.details["changed"] == ["repositories", "status"]
    services.requirement_update(
        tenant_id=tenant.pk, public_id=made.public_id, status="open", actor=actor
    )
    assert AuditLog.objects.filter(action="requirement.update").count() == 1  # nothing changed


def test_another_tenants_ids_are_unknown_ids(
    make_tenant: Callable[..., Tenant], actor: Actor, make_requirement: Callable[..., Requirement]
) -> None:
    mine, theirs = make_tenant("mine"), make_tenant("theirs")
    foreign = make_requirement(theirs)
    task = services.task_create(
        tenant_id=theirs.pk,
        requirement_id=foreign.public_id,
        title="T",
        created_by="b",
        actor=actor,
    )
    messages = []
    for public_id in (foreign.public_id, ids.new_requirement_id(), "req_../../etc"):
        with pytest.raises(Requirement.DoesNotExist) as missing:
            services.requirement_update(
                tenant_id=mine.pk, public_id=public_id, title="x", actor=actor
            )
        messages.append(str(missing.value).replace(public_id, "ID"))
        with pytest.raises(Requirement.DoesNotExist):
            services.task_create(
                tenant_id=mine.pk, requirement_id=public_id, title="x", created_by="a", actor=actor
            )
    assert len(set(messages)) == 1
    with pytest.raises(Task.DoesNotExist):
        services.task_update_status(
            tenant_id=mine.pk, task_id=task.public_id, status="done", actor=actor
        )
    foreign.refresh_from_db()
    task.refresh_from_db()
    assert (foreign.title, task.status) == ("Export invoices as CSV", "todo")


def test_task_status_moves_and_is_audited(
    tenant: Tenant, actor: Actor, make_requirement: Callable[..., Requirement]
) -> None:
    requirement = make_requirement(tenant)
    task = services.task_create(
        tenant_id=tenant.pk, requirement_id=requirement.public_id, title="Write the exporter",
        assignee="bob", created_by="alice", actor=actor,
    )  # fmt: skip
    assert ids.looks_like(ids.TASK_ID_RE, task.public_id)
    moved = services.task_update_status(
        tenant_id=tenant.pk, task_id=task.public_id, status="blocked", actor=actor
    )
    assert moved.status == "blocked"
    record = AuditLog.objects.get(action="task.update_status")
    assert record.details == {"requirement": requirement.public_id, "from": "todo", "to": "blocked"}
    with pytest.raises(ValidationError):
        services.task_update_status(
            tenant_id=tenant.pk, task_id=task.public_id, status="gone", actor=actor
        )
    assert Task.objects.get(pk=task.pk).status == "blocked"


def test_subscribers_hear_of_a_change_only_after_it_commits(
    tenant: Tenant,
    actor: Actor,
    make_requirement: Callable[..., Requirement],
    django_capture_on_commit_callbacks: Any,
) -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(tenant_group(tenant.pk), channel)
    requirement = make_requirement(tenant)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        services.requirement_update(
            tenant_id=tenant.pk, public_id=requirement.public_id, priority="urgent", actor=actor
        )
    assert len(pending) == 1  # held until the transaction commits
    pending[0]()
    message = async_to_sync(layer.receive)(channel)
    assert message["method"] == "notifications/resources/updated"
    assert message["params"] == {"uri": requirement.uri}
