"""Every change to requirements and tasks, each with its audit record and its announcement.

Keyword-only functions named ``<entity>_<action>``, atomic, writing the audit row in the same
transaction. Lookups always filter by tenant, so another tenant's id is an unknown id
(``DoesNotExist``, the same message). Subscribers of the requirement's resource hear
``notifications/resources/updated`` once the transaction has committed, on every instance
(``tools.events.announce`` on the Channels layer): never about a change that rolled back.
"""

from collections.abc import Sequence
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.db import transaction

from tenants.audit import Actor, audit_record
from tenants.models import Tenant
from tools.events import announce
from tools.workspace import ids
from tools.workspace.models import (
    REPOSITORIES_PER_REQUIREMENT,
    Requirement,
    RequirementRepository,
    Task,
    validate_repository,
)

UPDATED = "notifications/resources/updated"


def _tenant(tenant_id: int) -> Tenant:
    # The audit row names the tenant; one primary-key read per write.
    return Tenant.objects.only("id", "slug").get(pk=tenant_id)


def _announce_on_commit(tenant_id: int, uri: str) -> None:
    # robust: the change is committed whatever the Channels layer says; a failure is logged.
    transaction.on_commit(partial(_announce_now, tenant_id, uri), robust=True)


def _announce_now(tenant_id: int, uri: str) -> None:
    async_to_sync(announce)(tenant_id, UPDATED, {"uri": uri})


def _clean_repositories(repositories: Sequence[str]) -> list[str]:
    names = [str(name).strip() for name in repositories]
    if len(names) > REPOSITORIES_PER_REQUIREMENT:
        raise ValidationError(
            {"repositories": f"At most {REPOSITORIES_PER_REQUIREMENT} repositories."}
        )
    if len(set(names)) != len(names):
        raise ValidationError({"repositories": "A repository is listed twice."})
    for name in names:
        try:
            validate_repository(name)
        except ValidationError as exc:
            raise ValidationError({"repositories": exc.messages}) from None
    return names


def _set_repositories(requirement: Requirement, names: list[str]) -> None:
    requirement.repository_links.all().delete()
    RequirementRepository.objects.bulk_create(
        RequirementRepository(requirement=requirement, name=name) for name in names
    )


def _locked_requirement(*, tenant_id: int, public_id: str) -> Requirement:
    if not ids.looks_like(ids.REQUIREMENT_ID_RE, public_id):
        raise Requirement.DoesNotExist(f"No requirement {public_id!r}.")
    found = (
        Requirement.objects.select_for_update()
        .filter(tenant_id=tenant_id, public_id=public_id)
        .first()
    )
    if found is None:
        raise Requirement.DoesNotExist(f"No requirement {public_id!r}.")
    return found


@transaction.atomic
def requirement_create(
    *,
    tenant_id: int,
    title: str,
    description: str = "",
    status: str = Requirement.Status.DRAFT,
    priority: str = Requirement.Priority.MEDIUM,
    repositories: Sequence[str] = (),
    owner: str = "",
    created_by: str,
    actor: Actor,
) -> Requirement:
    tenant = _tenant(tenant_id)
    names = _clean_repositories(repositories)
    requirement = Requirement(
        tenant=tenant,
        title=title.strip(),
        description=description,
        status=status,
        priority=priority,
        owner=owner.strip(),
        created_by=created_by,
    )
    requirement.full_clean()
    requirement.save()
    _set_repositories(requirement, names)
    audit_record(
        actor=actor,
        action="requirement.create",
        tenant=tenant,
        target=requirement.public_id,
        details={"title": requirement.title, "status": status, "priority": priority},
    )
    return requirement


@transaction.atomic
def requirement_update(
    *,
    tenant_id: int,
    public_id: str,
    title: str | None = None,
    description: str | None = None,
    status: str | None = None,
    priority: str | None = None,
    owner: str | None = None,
    repositories: Sequence[str] | None = None,
    actor: Actor,
) -> Requirement:
    """Change the fields given (None: leave as is); an update that changes nothing writes
    nothing and tells no one."""
    requirement = _locked_requirement(tenant_id=tenant_id, public_id=public_id)
    wanted: dict[str, Any] = {
        "title": None if title is None else title.strip(),
        "description": description,
        "status": status,
        "priority": priority,
        "owner": None if owner is None else owner.strip(),
    }
    changes = {
        field: value
        for field, value in wanted.items()
        if value is not None and value != getattr(requirement, field)
    }
    if repositories is not None:
        names = _clean_repositories(repositories)
        if names != requirement_repositories(requirement):
            changes["repositories"] = names
    if not changes:
        return requirement
    for field, value in changes.items():
        if field != "repositories":
            setattr(requirement, field, value)
    requirement.full_clean()
    requirement.save()
    if "repositories" in changes:
        _set_repositories(requirement, changes["repositories"])
    audit_record(
        actor=actor,
        action="requirement.update",
        tenant=_tenant(tenant_id),
        target=requirement.public_id,
        details={"changed": sorted(changes), **_short(changes)},
    )
    _announce_on_commit(tenant_id, requirement.uri)
    return requirement


def requirement_repositories(requirement: Requirement) -> list[str]:
    return [link.name for link in requirement.repository_links.all()]


def _short(changes: dict[str, Any]) -> dict[str, Any]:
    # Descriptions can be long; the audit keeps that one changed, not its text.
    return {k: v for k, v in changes.items() if k != "description"}


@transaction.atomic
def task_create(
    *,
    tenant_id: int,
    requirement_id: str,
    title: str,
    description: str = "",
    assignee: str = "",
    status: str = Task.Status.TODO,
    created_by: str,
    actor: Actor,
) -> Task:
    # Locked: the requirement's resource (which lists its tasks) changes with it.
    requirement = _locked_requirement(tenant_id=tenant_id, public_id=requirement_id)
    task = Task(
        requirement=requirement,
        title=title.strip(),
        description=description,
        assignee=assignee.strip(),
        status=status,
        created_by=created_by,
    )
    task.full_clean()
    task.save()
    audit_record(
        actor=actor,
        action="task.create",
        tenant=_tenant(tenant_id),
        target=task.public_id,
        details={"requirement": requirement.public_id, "title": task.title, "status": status},
    )
    _announce_on_commit(tenant_id, requirement.uri)
    return task


@transaction.atomic
def task_update_status(*, tenant_id: int, task_id: str, status: str, actor: Actor) -> Task:
    if not ids.looks_like(ids.TASK_ID_RE, task_id):
        raise Task.DoesNotExist(f"No task {task_id!r}.")
    task = (
        Task.objects.select_for_update()
        .select_related("requirement")
        .filter(requirement__tenant_id=tenant_id, public_id=task_id)
        .first()
    )
    if task is None:
        raise Task.DoesNotExist(f"No task {task_id!r}.")
    if task.status == status:
        return task
    before = task.status
    task.status = status
    task.full_clean()
    task.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="task.update_status",
        tenant=_tenant(tenant_id),
        target=task.public_id,
        details={"requirement": task.requirement.public_id, "from": before, "to": status},
    )
    _announce_on_commit(tenant_id, task.requirement.uri)
    return task
