"""The typed tool-author API: a company's own tools, resources and prompts in a few lines.

    from typing import Annotated
    from pydantic import Field
    from tools.authoring import Toolset
    from tools.context import ToolContext

    notes = Toolset("notes", description="Short notes")

    @notes.tool(scopes=["notes:write"], read_only=False)
    async def add_note(ctx: ToolContext, text: Annotated[str, Field(max_length=500)]) -> Note:
        \"\"\"Add a note (the docstring's first paragraph is the description).\"\"\"

List the module in ``MCP_SERVER["TOOLSETS"]`` by its dotted path: the tools app imports it
and registers every ``Toolset`` it finds there (``register_module``). Parameters annotated
``ToolContext`` or ``tenants.principal.Principal`` are injected; the others are the tool's
arguments, validated by a pydantic model built once (``signature.py``); the return annotation
decides the output schema and result shape (``results.py``).
"""

from types import ModuleType

from tools.authoring.toolset import Toolset
from tools.registry import ToolSet, register

__all__ = ["Toolset", "register_module"]


def register_module(module: ModuleType) -> list[ToolSet]:
    """Register every ``Toolset`` defined or imported in ``module``; returns what it built."""
    found = {id(value): value for value in vars(module).values() if isinstance(value, Toolset)}
    return [register(toolset.build()) for toolset in found.values()]
