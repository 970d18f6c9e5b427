"""A test fixture tool set: a slow tool whose every step leaves a mark outside the server.

Each step is appended to a file in ``$MCP_TEST_TICK_DIR`` (the test's temporary directory)
and reported as progress, so a test sees whether the handler is still running, whichever
process runs it, and whether the client got every step exactly once.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from pydantic import Field

from tools.authoring import Toolset
from tools.context import ToolContext

ticker = Toolset("ticker", description="Test fixture: a slow counter", internal=True)


def _append(path: Path, step: int) -> None:
    with path.open("a") as marks:
        marks.write(f"{step}\n")


@ticker.tool(read_only=False, idempotent=False, open_world=False)
async def tick(
    ctx: ToolContext,
    name: str = Field(pattern=r"^[a-z0-9-]{1,40}$"),
    steps: int = Field(ge=1, le=200),
    interval: float = Field(ge=0.01, le=5.0),
) -> str:
    """Counts to ``steps``, one step per ``interval`` seconds; each step is written to the
    file ``name`` in $MCP_TEST_TICK_DIR and reported as progress."""
    directory = os.environ.get("MCP_TEST_TICK_DIR")
    for step in range(1, steps + 1):
        if directory:
            await asyncio.to_thread(_append, Path(directory) / name, step)
        await ctx.progress(step, steps)
        await asyncio.sleep(interval)
    return f"counted to {steps}"
