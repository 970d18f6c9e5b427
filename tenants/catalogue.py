"""What the tenants app knows of the tool catalogue, without importing ``tools`` (a layer up).

The tools app registers a ``CatalogueSource`` when it is ready (``tools.apps``). Services,
admin forms and commands ask it which tool sets and tools exist, which sets are internal
fixtures, and what a tenant's ``tools/list`` would hold. ``check_selection`` is the one place
that decides whether a tenant's tool sets and disabled tools are acceptable; the service, and
the admin form before it, call it.

Unknown tool names are refused, with the closest known names, so a typo never silently leaves
a tool enabled. A name with a dot (``NAME.tool``) is an upstream server's tool, whose list is
only known when that server answers: it is accepted as long as it is well formed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured, ValidationError

from mcpserver.conf import mcp_settings


@dataclass(frozen=True, slots=True)
class ToolInfo:
    name: str
    description: str
    title: str = ""
    scopes: tuple[str, ...] = ()
    annotations: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolSetInfo:
    name: str
    description: str
    internal: bool
    tools: tuple[ToolInfo, ...]


class CatalogueSource(Protocol):
    def toolsets(self) -> Sequence[ToolSetInfo]:
        """Every registered tool set, in registration order."""
        ...

    def tools_list(self, toolsets: Sequence[str], disabled: Sequence[str]) -> list[dict[str, Any]]:
        """The ``tools`` a tenant with this selection gets in ``tools/list`` (wire form)."""
        ...


# Set once, when the tools app is ready; like the tool registry, configuration, not a cache.
_sources: list[CatalogueSource] = []


def register_source(source: CatalogueSource) -> None:
    _sources[:] = [source]


def source() -> CatalogueSource:
    if not _sources:
        raise ImproperlyConfigured("No tool catalogue registered: is the tools app installed?")
    return _sources[0]


def toolsets_by_name() -> dict[str, ToolSetInfo]:
    return {info.name: info for info in source().toolsets()}


def toolset_names() -> tuple[str, ...]:
    """The names a tenant enables sets by (``MCP_SERVER["TOOLSETS"]`` lists modules)."""
    return tuple(info.name for info in source().toolsets())


def customer_toolsets() -> list[str]:
    """The registered tool sets a customer's tenant may have (every one but the internal)."""
    return [info.name for info in source().toolsets() if not info.internal]


def is_upstream_name(name: str) -> bool:
    """``NAME.tool``: a tool of an upstream server, reserved for it."""
    prefix, dot, rest = name.partition(".")
    return bool(dot and prefix and rest)


def check_selection(
    *,
    toolsets: Sequence[str],
    new_tools: Iterable[str],
    previously_enabled: Sequence[str] = (),
    own_tools: Sequence[str] = (),
) -> None:
    """Raise ``ValidationError`` unless ``toolsets`` may be enabled (an internal set only where
    ``ALLOW_INTERNAL_TOOLSETS`` is on, or if it was enabled before) and every name in
    ``new_tools`` (tools newly disabled or enabled) names a tool: one of a registered set,
    of the tenant's own (``own_tools``: its HTTP tools) or of an upstream server."""
    errors: dict[str, str] = {}
    sets = toolsets_by_name()
    if not mcp_settings.ALLOW_INTERNAL_TOOLSETS:
        refused = [
            name
            for name in toolsets
            if name in sets and sets[name].internal and name not in previously_enabled
        ]
        if refused:
            errors["enabled_toolsets"] = (
                f"Internal tool set(s) cannot be enabled for a tenant: {', '.join(refused)} "
                "(test fixtures; only a deployment with ALLOW_INTERNAL_TOOLSETS may)."
            )
    known = sorted({tool.name for info in sets.values() for tool in info.tools} | set(own_tools))
    unknown = [name for name in dict.fromkeys(new_tools) if not _known(name, known)]
    if unknown:
        errors["disabled_tools"] = "; ".join(_unknown_message(name, known) for name in unknown)
    if errors:
        raise ValidationError(errors)


def _known(name: str, known: Sequence[str]) -> bool:
    return name in known or is_upstream_name(name)


def _unknown_message(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else "no tool set offers it"
    return f"Unknown tool '{name}' ({hint})"
