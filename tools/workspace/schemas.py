"""What the workspace tools take and return: enums for the choices, pydantic output models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from tools.workspace.models import Requirement, Task
from tools.workspace.services import requirement_repositories


class RequirementStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class TaskStatus(StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    DONE = "done"


class RequirementSort(StrEnum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    RECENTLY_UPDATED = "-updated_at"
    LEAST_RECENTLY_UPDATED = "updated_at"
    MOST_URGENT = "-priority"
    LEAST_URGENT = "priority"
    TITLE = "title"
    TITLE_DESCENDING = "-title"


class TaskOut(BaseModel):
    id: str = Field(description="The task's id (task_...)")
    requirement_id: str
    title: str
    description: str
    status: TaskStatus
    assignee: str = Field(description="The subject it is assigned to; empty when unassigned")
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, task: Task) -> TaskOut:
        return cls(
            id=task.public_id,
            requirement_id=task.requirement.public_id,
            title=task.title,
            description=task.description,
            status=TaskStatus(task.status),
            assignee=task.assignee,
            created_by=task.created_by,
            created_at=task.created_at,
            updated_at=task.updated_at,
        )


class RequirementOut(BaseModel):
    id: str = Field(description="The requirement's id (req_...)")
    uri: str = Field(description="Its resource, to read or subscribe to")
    title: str
    description: str
    status: RequirementStatus
    priority: Priority
    repositories: list[str]
    owner: str = Field(description="The subject who owns it; empty when nobody does")
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, requirement: Requirement) -> RequirementOut:
        return cls(**_requirement_fields(requirement))

    @classmethod
    def listed(cls, requirement: Requirement, repositories: list[str]) -> RequirementOut:
        """With the repositories the caller has already read (a listing reads a page's in one
        query, ``selectors.repositories_of``)."""
        return cls(**_requirement_fields(requirement, repositories))


class RequirementDetail(RequirementOut):
    tasks: list[TaskOut]

    @classmethod
    def of(cls, requirement: Requirement) -> RequirementDetail:
        tasks = list(requirement.tasks.all())
        for task in tasks:  # already known: no query per task
            task.requirement = requirement
        return cls(**_requirement_fields(requirement), tasks=[TaskOut.of(t) for t in tasks])


class RequirementPage(BaseModel):
    requirements: list[RequirementOut]
    next_cursor: str | None = Field(description="Pass it as cursor for the next page")


class TaskPage(BaseModel):
    tasks: list[TaskOut]
    next_cursor: str | None = Field(description="Pass it as cursor for the next page")


def _requirement_fields(
    requirement: Requirement, repositories: list[str] | None = None
) -> dict[str, Any]:
    return {
        "id": requirement.public_id,
        "uri": requirement.uri,
        "title": requirement.title,
        "description": requirement.description,
        "status": RequirementStatus(requirement.status),
        "priority": Priority(requirement.priority),
        "repositories": (
            requirement_repositories(requirement) if repositories is None else repositories
        ),
        "owner": requirement.owner,
        "created_by": requirement.created_by,
        "created_at": requirement.created_at,
        "updated_at": requirement.updated_at,
    }
