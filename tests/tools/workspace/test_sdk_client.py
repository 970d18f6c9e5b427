"""Every workspace tool, the resource template and the prompt, driven by the official Python
SDK client against a live server, in both protocol eras."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
from channels.db import database_sync_to_async
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated

from tenants.audit import Actor
from tests.tools.workspace.conftest import Workspace
from tools.workspace import ids, services
from tools.workspace.models import Requirement

pytestmark = pytest.mark.filterwarnings("ignore:resources/subscribe is removed")
ERAS = ["legacy", "2026-07-28"]
Run = Callable[[Client], Any]


def _run(workspace: Workspace, mode: str, *bodies: Run, **client: Any) -> list[Any]:
    """Run each body with its own connected client, concurrently; their results in order."""
    results: list[Any] = [None] * len(bodies)

    async def one(index: int, body: Run) -> None:
        headers = {"Authorization": f"Bearer {workspace.key}"}
        async with httpx2.AsyncClient(headers=headers, timeout=10) as http:
            transport = streamable_http_client(workspace.url, http_client=http)
            async with Client(transport, mode=mode, cache=None, **client) as connected:
                results[index] = await body(connected)

    async def main() -> None:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                for index, body in enumerate(bodies):
                    group.start_soon(one, index, body)

    anyio.run(main)
    return results


@pytest.mark.parametrize("mode", ERAS)
def test_requirements_and_tasks_through_every_tool(workspace: Workspace, mode: str) -> None:
    async def body(client: Client) -> dict[str, Any]:
        tools = await client.list_tools()
        made = await client.call_tool(
            "create_requirement",
            {"title": "CSV export", "priority": "high", "repositories": ["acme/api"]},
        )
        other = await client.call_tool("create_requirement", {"title": "Dark mode"})
        req = made.structured_content["id"]
        updated = await client.call_tool(
            "update_requirement", {"requirement_id": req, "status": "in_progress"}
        )
        task = await client.call_tool(
            "create_task", {"requirement_id": req, "title": "Write the exporter", "assignee": "bob"}
        )
        moved = await client.call_tool(
            "update_task_status", {"task_id": task.structured_content["id"], "status": "done"}
        )
        return {
            "tools": tools,
            "made": made,
            "other": other.structured_content,
            "updated": updated.structured_content,
            "moved": moved.structured_content,
            "by_repo": (await client.call_tool("list_requirements", {"repository": "acme/api"})),
            "by_text": (await client.call_tool("list_requirements", {"text": "dark"})),
            "urgent_first": (await client.call_tool("list_requirements", {"sort": "-priority"})),
            "detail": (await client.call_tool("get_requirement", {"requirement_id": req})),
            "tasks": (await client.call_tool("list_tasks", {"requirement_id": req})),
            "page": (await client.call_tool("list_requirements", {"limit": 1})),
        }

    (seen,) = _run(workspace, mode, body)
    described = {tool.name: tool for tool in seen["tools"].tools}
    assert described["list_requirements"].annotations.read_only_hint is True
    assert described["create_requirement"].annotations.destructive_hint is False
    assert described["create_requirement"].output_schema["type"] == "object"
    made = seen["made"]
    assert ids.looks_like(ids.REQUIREMENT_ID_RE, made.structured_content["id"])
    assert json.loads(made.content[0].text) == made.structured_content
    assert made.structured_content["owner"].startswith("apikey:ak_")  # the caller's subject
    assert seen["updated"]["status"] == "in_progress"
    assert seen["moved"]["status"] == "done"
    assert [r["title"] for r in seen["by_repo"].structured_content["requirements"]] == [
        "CSV export"
    ]
    assert [r["title"] for r in seen["by_text"].structured_content["requirements"]] == ["Dark mode"]
    assert seen["urgent_first"].structured_content["requirements"][0]["priority"] == "high"
    detail = seen["detail"].structured_content
    assert [t["title"] for t in detail["tasks"]] == ["Write the exporter"]
    assert detail["tasks"][0]["assignee"] == "bob"
    assert [t["status"] for t in seen["tasks"].structured_content["tasks"]] == ["done"]
    page = seen["page"].structured_content
    assert len(page["requirements"]) == 1 and page["next_cursor"]


@pytest.mark.parametrize("mode", ERAS)
def test_pages_follow_their_cursor_and_a_foreign_cursor_is_refused(
    workspace: Workspace, make_requirement: Callable[..., Requirement], mode: str
) -> None:
    for n in range(5):
        make_requirement(workspace.tenant, title=f"R{n}")

    async def body(client: Client) -> tuple[list[str], Any]:
        titles: list[str] = []
        cursor = None
        while True:
            args: dict[str, Any] = {"limit": 2, "sort": "title"}
            if cursor:
                args["cursor"] = cursor
            page = (await client.call_tool("list_requirements", args)).structured_content
            titles += [r["title"] for r in page["requirements"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        first = await client.call_tool("list_requirements", {"limit": 2, "sort": "title"})
        cursor = first.structured_content["next_cursor"]
        other = await client.call_tool("list_requirements", {"cursor": cursor, "sort": "-title"})
        return titles, other

    ((titles, other),) = _run(workspace, mode, body)
    assert titles == ["R0", "R1", "R2", "R3", "R4"]
    assert other.is_error and "other filters" in other.content[0].text


@pytest.mark.parametrize("mode", ERAS)
def test_the_resource_template_and_the_plan_prompt(
    workspace: Workspace, make_requirement: Callable[..., Requirement], mode: str
) -> None:
    made = make_requirement(workspace.tenant, description="Finance wants monthly CSVs.")

    async def body(client: Client) -> tuple[Any, Any, Any]:
        templates = await client.list_resource_templates()
        read = await client.read_resource(made.uri)
        prompt = await client.get_prompt("plan_requirement", {"requirement_id": made.public_id})
        return templates, read, prompt

    ((templates, read, prompt),) = _run(workspace, mode, body)
    template = next(t for t in templates.resource_templates if t.name == "requirement")
    assert template.uri_template == "workspace://requirements/{id}"
    assert template.mime_type == "application/json"
    shown = json.loads(read.contents[0].text)
    assert (shown["id"], shown["description"], shown["tasks"]) == (
        made.public_id, "Finance wants monthly CSVs.", [],
    )  # fmt: skip
    embedded, instructions = prompt.messages
    assert "Finance wants monthly CSVs." in embedded.content.resource.text
    assert (
        "create_task" in instructions.content.text and made.public_id in instructions.content.text
    )


@pytest.mark.parametrize("mode", ERAS)
def test_another_tenants_ids_fail_exactly_like_unknown_ones(
    workspace: Workspace, make_requirement: Callable[..., Requirement], mode: str
) -> None:
    foreign = make_requirement(workspace.other, title="Their secret plan")
    unknown = ids.new_requirement_id()

    async def attempts(client: Client, req: str) -> list[str]:
        seen = []
        for name, args in (
            ("get_requirement", {"requirement_id": req}),
            ("update_requirement", {"requirement_id": req, "title": "Mine now"}),
            ("create_task", {"requirement_id": req, "title": "Sneak in"}),
            ("list_tasks", {"requirement_id": req}),
        ):
            result = await client.call_tool(name, args)
            assert result.is_error, name
            block = result.content[0]
            assert isinstance(block, types.TextContent)
            seen.append(block.text.replace(req, "ID"))
        for call in (
            lambda: client.read_resource(f"workspace://requirements/{req}"),
            lambda: client.get_prompt("plan_requirement", {"requirement_id": req}),
        ):
            with pytest.raises(MCPError) as refused:
                await call()
            seen.append(
                f"{refused.value.error.code} {refused.value.error.message.replace(req, 'ID')}"
            )
        return seen

    async def body(client: Client) -> tuple[list[str], list[str]]:
        return await attempts(client, foreign.public_id), await attempts(client, unknown)

    ((as_foreign, as_unknown),) = _run(workspace, mode, body)
    assert as_foreign == as_unknown
    foreign.refresh_from_db()
    assert foreign.title == "Their secret plan" and not foreign.tasks.exists()


def _change_when(ready: anyio.Event, *changes: tuple[str, dict[str, Any]]) -> Run:
    async def body(client: Client) -> None:
        await ready.wait()
        for name, args in changes:
            assert not (await client.call_tool(name, args)).is_error

    return body


@pytest.mark.parametrize("mode", ERAS)
def test_a_subscriber_hears_of_its_requirement_only(
    workspace: Workspace,
    make_requirement: Callable[..., Requirement],
    actor: Actor,
    mode: str,
) -> None:
    watched = make_requirement(workspace.tenant, title="Watched")
    unwatched = make_requirement(workspace.tenant, title="Not watched")
    foreign = make_requirement(workspace.other, title="Elsewhere")
    heard: list[str] = []
    got, ready = anyio.Event(), anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            heard.append(str(message.params.uri))
            got.set()

    async def legacy_watch(client: Client) -> None:
        await client.subscribe_resource(watched.uri)
        await client.subscribe_resource(foreign.uri)  # accepted like any unknown id; never fed
        ready.set()
        await got.wait()

    async def modern_watch(client: Client) -> None:
        async with client.listen(resource_subscriptions=[watched.uri, foreign.uri]) as sub:
            ready.set()  # acknowledged: the stream is in the tenant's group
            async for event in sub:
                assert isinstance(event, ResourceUpdated)
                heard.append(event.uri)
                break

    changes = _change_when(
        ready,
        ("update_requirement", {"requirement_id": unwatched.public_id, "priority": "low"}),
        ("create_task", {"requirement_id": watched.public_id, "title": "First step"}),
    )

    async def foreign_change(client: Client) -> None:
        await ready.wait()  # the other tenant changes its own requirement meanwhile
        await database_sync_to_async(services.requirement_update)(
            tenant_id=workspace.other.pk, public_id=foreign.public_id, status="open", actor=actor
        )

    watch = legacy_watch if mode == "legacy" else modern_watch
    extra = {"message_handler": on_message} if mode == "legacy" else {}
    _run(workspace, mode, foreign_change, watch, changes, **extra)
    assert heard == [watched.uri]
