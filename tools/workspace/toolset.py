"""The ``workspace`` tool set: requirements and tasks for a team working with an assistant.

Each tool runs one synchronous unit (a service call or a selector, and the conversion of what
it returns) through ``database_sync_to_async``: no ORM in a coroutine. Another tenant's id
gives exactly what an unknown id gives.
"""

from __future__ import annotations

from typing import Annotated, Any

from channels.db import database_sync_to_async
from pydantic import Field

from tools.authoring import Toolset
from tools.context import ToolContext
from tools.errors import InvalidParams, ResourceNotFound, ToolError
from tools.workspace import selectors, services
from tools.workspace.calling import (
    Cursor,
    Description,
    Limit,
    Repositories,
    RequirementId,
    Subject,
    TaskId,
    Title,
    actor_of,
    run,
    value_of,
)
from tools.workspace.prompts import plan_messages
from tools.workspace.schemas import (
    Priority,
    RequirementDetail,
    RequirementOut,
    RequirementPage,
    RequirementSort,
    RequirementStatus,
    TaskOut,
    TaskPage,
    TaskStatus,
)

READ = ["workspace:read"]
WRITE = ["workspace:write"]

workspace = Toolset(
    "workspace",
    description="A team's requirements and their tasks.",
    instructions=(
        "Workspace: requirements (req_...) and their tasks (task_...). List or search "
        "requirements before creating one that may exist; break a requirement into tasks with "
        "the plan_requirement prompt; each requirement is also the resource "
        "workspace://requirements/{id}."
    ),
)


@workspace.tool(
    scopes=WRITE,
    title="Create a requirement",
    read_only=False,
    destructive=False,
    idempotent=False,
    open_world=False,
)
async def create_requirement(
    ctx: ToolContext,
    title: Title,
    description: Description = "",
    priority: Priority = Priority.MEDIUM,
    status: RequirementStatus = RequirementStatus.DRAFT,
    repositories: Repositories | None = None,
    owner: Annotated[Subject | None, Field(description="Owner; default: you")] = None,
) -> RequirementOut:
    """Creates a requirement (what the team needs done, and why) and returns it with its id."""
    principal = ctx.principal

    def work() -> RequirementOut:
        created = services.requirement_create(
            tenant_id=principal.tenant_id,
            title=title,
            description=description,
            priority=priority.value,
            status=status.value,
            repositories=repositories or [],
            owner=principal.subject if owner is None else owner,
            created_by=principal.subject,
            actor=actor_of(ctx),
        )
        return RequirementOut.of(created)

    return await run(work)


@workspace.tool(
    scopes=READ, title="List requirements", read_only=True, idempotent=True, open_world=False
)
async def list_requirements(
    ctx: ToolContext,
    status: RequirementStatus | None = None,
    priority: Priority | None = None,
    owner: Subject | None = None,
    repository: Annotated[str | None, Field(max_length=200)] = None,
    text: Annotated[
        str | None, Field(description="Words in title or description", max_length=200)
    ] = None,
    sort: RequirementSort = RequirementSort.RECENTLY_UPDATED,
    limit: Limit = selectors.DEFAULT_LIMIT,
    cursor: Cursor | None = None,
) -> RequirementPage:
    """Lists the team's requirements, filtered and sorted, a page at a time."""

    def work() -> RequirementPage:
        page = selectors.requirement_list(
            tenant_id=ctx.principal.tenant_id,
            status=value_of(status),
            priority=value_of(priority),
            owner=owner,
            repository=repository,
            text=text,
            sort=sort.value,
            cursor=cursor,
            limit=limit,
        )
        names = selectors.repositories_of([r.pk for r in page.items])
        items = [RequirementOut.listed(r, names[r.pk]) for r in page.items]
        return RequirementPage(requirements=items, next_cursor=page.next_cursor)

    return await run(work)


def _detail(tenant_id: int, requirement_id: str) -> RequirementDetail:
    found = selectors.requirement_get(tenant_id=tenant_id, public_id=requirement_id)
    if found is None:
        raise ToolError(f"No requirement {requirement_id!r}.")
    return RequirementDetail.of(found)


@workspace.tool(
    scopes=READ, title="Get a requirement", read_only=True, idempotent=True, open_world=False
)
async def get_requirement(ctx: ToolContext, requirement_id: RequirementId) -> RequirementDetail:
    """Shows one requirement with all its tasks."""
    return await run(lambda: _detail(ctx.principal.tenant_id, requirement_id))


@workspace.tool(
    scopes=WRITE,
    title="Update a requirement",
    read_only=False,
    destructive=False,
    idempotent=True,
    open_world=False,
)
async def update_requirement(
    ctx: ToolContext,
    requirement_id: RequirementId,
    title: Title | None = None,
    description: Description | None = None,
    status: RequirementStatus | None = None,
    priority: Priority | None = None,
    owner: Annotated[Subject | None, Field(description="New owner; empty: nobody")] = None,
    repositories: Annotated[Repositories | None, Field(description="Replaces the list")] = None,
) -> RequirementOut:
    """Changes the fields given of a requirement and leaves the others as they are."""

    def work() -> RequirementOut:
        updated = services.requirement_update(
            tenant_id=ctx.principal.tenant_id,
            public_id=requirement_id,
            title=title,
            description=description,
            status=value_of(status),
            priority=value_of(priority),
            owner=owner,
            repositories=repositories,
            actor=actor_of(ctx),
        )
        return RequirementOut.of(updated)

    return await run(work)


@workspace.tool(
    scopes=WRITE,
    title="Create a task",
    read_only=False,
    destructive=False,
    idempotent=False,
    open_world=False,
)
async def create_task(
    ctx: ToolContext,
    requirement_id: RequirementId,
    title: Title,
    description: Description = "",
    assignee: Annotated[Subject, Field(description="Assignee; empty: nobody")] = "",
) -> TaskOut:
    """Adds a task (one step towards the requirement) under a requirement."""

    def work() -> TaskOut:
        task = services.task_create(
            tenant_id=ctx.principal.tenant_id,
            requirement_id=requirement_id,
            title=title,
            description=description,
            assignee=assignee,
            created_by=ctx.principal.subject,
            actor=actor_of(ctx),
        )
        return TaskOut.of(task)

    return await run(work)


@workspace.tool(scopes=READ, title="List tasks", read_only=True, idempotent=True, open_world=False)
async def list_tasks(
    ctx: ToolContext,
    requirement_id: RequirementId | None = None,
    status: TaskStatus | None = None,
    assignee: Subject | None = None,
    limit: Limit = selectors.DEFAULT_LIMIT,
    cursor: Cursor | None = None,
) -> TaskPage:
    """Lists tasks, oldest first: of one requirement or of all, by status or assignee."""
    tenant_id = ctx.principal.tenant_id

    def work() -> TaskPage:
        if (
            requirement_id is not None
            and selectors.requirement_get(tenant_id=tenant_id, public_id=requirement_id) is None
        ):
            raise ToolError(f"No requirement {requirement_id!r}.")
        page = selectors.task_list(
            tenant_id=tenant_id,
            requirement_id=requirement_id,
            status=value_of(status),
            assignee=assignee,
            cursor=cursor,
            limit=limit,
        )
        return TaskPage(tasks=[TaskOut.of(t) for t in page.items], next_cursor=page.next_cursor)

    return await run(work)


@workspace.tool(
    scopes=WRITE,
    title="Update a task's status",
    read_only=False,
    destructive=False,
    idempotent=True,
    open_world=False,
)
async def update_task_status(ctx: ToolContext, task_id: TaskId, status: TaskStatus) -> TaskOut:
    """Moves a task to another status (todo, in_progress, blocked, done)."""

    def work() -> TaskOut:
        task = services.task_update_status(
            tenant_id=ctx.principal.tenant_id,
            task_id=task_id,
            status=status.value,
            actor=actor_of(ctx),
        )
        return TaskOut.of(task)

    return await run(work)


@workspace.resource(
    "workspace://requirements/{id}", mime_type="application/json", scopes=READ,
    title="Requirement",
)  # fmt: skip
async def requirement(ctx: ToolContext, id: str) -> RequirementDetail:  # noqa: A002 (the URI variable)
    """A requirement with its tasks, as JSON; subscribe to hear when either changes."""
    tenant_id = ctx.principal.tenant_id

    def work() -> RequirementDetail:
        try:
            return _detail(tenant_id, id)
        except ToolError:
            raise ResourceNotFound(data={"uri": f"workspace://requirements/{id}"}) from None

    return await database_sync_to_async(work)()


@workspace.prompt(title="Plan a requirement", scopes=READ)
async def plan_requirement(
    ctx: ToolContext,
    requirement_id: Annotated[str, Field(description="The requirement to plan (req_...)")],
) -> list[dict[str, Any]]:
    """Breaks a requirement into tasks: its content and how to propose the tasks."""
    tenant_id = ctx.principal.tenant_id

    def work() -> RequirementDetail:
        try:
            return _detail(tenant_id, requirement_id)
        except ToolError as missing:  # a prompt that cannot be built: bad params, -32602
            raise InvalidParams(f"Invalid params: {missing.message}") from None

    detail = await database_sync_to_async(work)()
    return plan_messages(detail)
