"""The tasks extension fixtures the suite's ``tasks-*`` scenarios call, written with the typed
tool-author API: ``task=True`` (or ``"required"``) is all a tool needs to run as a task."""

import asyncio
from typing import Annotated, Any

from pydantic import Field

from mcpserver.errors import InternalError
from tools.authoring import Toolset
from tools.conformance.common import accepted, elicit, result, text
from tools.context import ToolContext
from tools.errors import ToolError
from tools.registry import Tool

fixtures = Toolset("conformance-tasks", description="Tasks extension fixtures", internal=True)


@fixtures.tool
async def greet(name: str) -> str:
    """Greets by name, at once (never a task)."""
    return f"Hello, {name}!"


@fixtures.tool(task=True)
async def slow_compute(seconds: Annotated[float, Field(ge=0, le=600)] = 1, label: str = "") -> str:
    """Sleeps for `seconds`, then reports what it computed (a task for clients with tasks)."""
    await asyncio.sleep(seconds)
    return f"Computed {label or 'result'} after {seconds:g}s"


@fixtures.tool(task="required")
async def failing_job() -> str:
    """Runs for about a second, then fails as a tool (only as a task)."""
    await asyncio.sleep(1)
    raise ToolError("The job failed, as it always does.")


@fixtures.tool(task=True)
async def protocol_error_job() -> str:
    """Fails with a protocol-level error instead of a tool result."""
    await asyncio.sleep(0.2)
    raise InternalError("The job broke down")


def _confirm(message: str) -> dict[str, Any]:
    return elicit(message, {"confirm": {"type": "boolean", "description": "Confirm"}}, ["confirm"])


@fixtures.tool(task=True)
async def confirm_delete(ctx: ToolContext, filename: str) -> str:
    """Asks the client to confirm, then deletes `filename` (pretend)."""
    answer = (await ctx.request_input({"confirm": _confirm(f"Delete {filename}?")}))["confirm"]
    if answer.get("action") == "accept" and accepted(answer).get("confirm"):
        return f"Deleted {filename}"
    return f"Kept {filename}"


@fixtures.tool(task=True)
async def multi_input(ctx: ToolContext) -> str:
    """Asks two questions at once and reports both answers."""
    name = elicit("Your name?", {"name": {"type": "string"}}, ["name"])
    answers = await ctx.request_input({"name": name, "confirm": _confirm("Proceed?")})
    return f"Name: {accepted(answers['name']).get('name')}, confirmed: {answers['confirm']}"


async def _tool_with_task(ctx: ToolContext, args: Any) -> dict[str, Any]:
    answer = (await ctx.request_input(dict(USER_NAME)))["user_name"]
    await asyncio.sleep(0.2)
    return result(text(f"Hello, {accepted(answer).get('name', 'stranger')}! (from a task)"))


USER_NAME = {"user_name": elicit("What is your name?", {"name": {"type": "string"}}, ["name"])}

TASK_TOOLS: tuple[Tool, ...] = (
    *fixtures.build().tools,
    Tool(
        name="test_tool_with_task",
        description="Asks for a name by multi round-trip, then greets from a task",
        handler=_tool_with_task,
        input_schema={"type": "object", "properties": {}},
        task_support="required",
        task_inputs=USER_NAME,
    ),
)
