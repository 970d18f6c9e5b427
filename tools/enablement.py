"""The registry as the tenants app sees it (``tenants.catalogue.CatalogueSource``).

Registered by ``tools.apps`` at start, so services, admin and commands below this layer can
validate a tenant's tool selection and preview its ``tools/list`` without importing tools.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tenants.catalogue import ToolInfo, ToolSetInfo
from tools.registry import Tool, ToolSet, all_toolsets, catalogue_for


def _tool_info(tool: Tool) -> ToolInfo:
    return ToolInfo(
        name=tool.name,
        title=tool.title or "",
        description=tool.description,
        scopes=tuple(sorted(tool.required_scopes)),
        annotations=dict(tool.annotations or {}),
    )


def _set_info(toolset: ToolSet) -> ToolSetInfo:
    return ToolSetInfo(
        name=toolset.name,
        description=toolset.description,
        internal=toolset.internal,
        tools=tuple(_tool_info(tool) for tool in toolset.tools),
    )


class RegistrySource:
    def toolsets(self) -> Sequence[ToolSetInfo]:
        return [_set_info(toolset) for toolset in all_toolsets().values()]

    def tools_list(self, toolsets: Sequence[str], disabled: Sequence[str]) -> list[dict[str, Any]]:
        # The same call and the same describe() tools/list makes (mcpserver.protocol.methods).
        catalogue = catalogue_for(tuple(toolsets), tuple(sorted(disabled)))
        return [tool.describe() for tool in catalogue.tools]
