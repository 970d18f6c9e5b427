"""The fleet's own tool set: a call that streams numbered progress events slowly, so an
instance can be killed while one of its streams is half sent."""

import asyncio
from typing import Annotated

from pydantic import BaseModel, Field

from tools.authoring import Toolset
from tools.context import ToolContext

fleet = Toolset("fleet", description="Fleet test tools", internal=True)


class Counted(BaseModel):
    steps: int


@fleet.tool(read_only=True)
async def count_slowly(
    ctx: ToolContext,
    steps: Annotated[int, Field(ge=1, le=100)],
    interval: Annotated[float, Field(ge=0, le=1)] = 0.1,
) -> Counted:
    """Reports progress 1..steps, one step per interval, then answers."""
    for step in range(1, steps + 1):
        await ctx.progress(step, steps, f"step {step}")
        await asyncio.sleep(interval)
    return Counted(steps=steps)
