"""What every workspace tool shares: argument types, the caller as an actor, and running one
synchronous unit (service or selector) off the event loop with its refusals as tool errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from channels.db import database_sync_to_async
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from pydantic import Field

from tenants.audit import Actor
from tools.context import ToolContext
from tools.errors import ToolError
from tools.workspace import selectors
from tools.workspace.models import DESCRIPTION_MAX, SUBJECT_MAX, TITLE_MAX

R = TypeVar("R")

RequirementId = Annotated[str, Field(description="A requirement id (req_...)", max_length=64)]
TaskId = Annotated[str, Field(description="A task id (task_...)", max_length=64)]
Title = Annotated[str, Field(description="A short title", min_length=1, max_length=TITLE_MAX)]
Description = Annotated[str, Field(description="Markdown text", max_length=DESCRIPTION_MAX)]
Subject = Annotated[str, Field(description="A user's subject", max_length=SUBJECT_MAX)]
Repositories = Annotated[
    list[Annotated[str, Field(max_length=200)]],
    Field(description="Repositories it touches, such as acme/api", max_length=20),
]
Limit = Annotated[int, Field(description="Items per page", ge=1, le=selectors.MAX_LIMIT)]
Cursor = Annotated[str, Field(description="next_cursor of the previous page", max_length=200)]


def actor_of(ctx: ToolContext) -> Actor:
    return Actor(name=f"mcp:{ctx.principal.subject}")


@contextmanager
def _as_tool_errors() -> Iterator[None]:
    """What the services and selectors refuse, told to the caller in words it can act on."""
    try:
        yield
    except ObjectDoesNotExist as missing:
        raise ToolError(str(missing)) from None
    except ValidationError as invalid:
        raise ToolError("Invalid: " + "; ".join(_messages(invalid))) from None
    except selectors.BadCursor as bad:
        raise ToolError(f"{bad} List again without a cursor.") from None


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{name}: {' '.join(m)}" for name, m in error.message_dict.items()]
    return list(error.messages)


async def run(work: Callable[[], R]) -> R:
    def guarded() -> R:
        with _as_tool_errors():
            return work()

    return await database_sync_to_async(guarded)()


def value_of(choice: Any) -> str | None:
    return None if choice is None else str(choice.value if hasattr(choice, "value") else choice)
