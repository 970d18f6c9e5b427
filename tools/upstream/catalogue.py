"""A tenant's catalogue when it has tools of its own: the static one, then its HTTP tools, then
each upstream server's tools, resources and prompts under the prefix ``NAME.``.

Only tenants whose cached configuration carries ``own_tools`` come here
(``mcpserver.protocol.call``); everyone else keeps the static catalogue, one cached lookup.

What is built is cached per process: an HTTP tool per revision of its specification, an
upstream's part per (configuration revision, listing digest), and the merged catalogue per
tenant until its configuration, its disabled tools, the static catalogue or a listing
changes. Listings themselves live in the shared store (``listing``). Names the static
catalogue already has win; an upstream item whose prefixed name is not a valid tool name, or
whose schema does not compile, is left out (and logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import Any

from mcpserver.process import process_state
from tenants.snapshots import TenantView
from tenants.upstreams.config import HttpToolConfig, UpstreamConfig
from tools.registry import (
    TOOL_NAME_RE,
    Catalogue,
    Prompt,
    PromptArgument,
    Resource,
    ResourceTemplate,
    Tool,
    ToolSet,
    build_catalogue,
)
from tools.upstream import calls, listing
from tools.upstream.httptool import build_tool

logger = logging.getLogger("tools.upstream")

_CACHE_SIZE = 1024


def _bounded(cache: OrderedDict[Any, Any], key: Any, value: Any) -> Any:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return value


_http: OrderedDict[str, Tool] = process_state.ordered("upstream.http_tools")
_parts: OrderedDict[tuple[str, str], ToolSet] = process_state.ordered("upstream.parts")
_merged: OrderedDict[int, _Merged] = process_state.ordered("upstream.merged")


@dataclass(frozen=True, slots=True)
class _Merged:
    signature: tuple[Any, ...]
    static: Catalogue
    catalogue: Catalogue


def _http_tool(config: HttpToolConfig) -> Tool | None:
    found = _http.get(config.rev)
    if found is None:
        try:
            found = build_tool(config)
        except Exception:
            logger.exception("HTTP tool %s left out: it does not build", config.name)
            return None
        _bounded(_http, config.rev, found)
    return found


def _tool(upstream: UpstreamConfig, era: listing.Era, item: dict[str, Any]) -> Tool | None:
    remote = str(item.get("name") or "")
    name = f"{upstream.name}.{remote}"
    if not remote or not TOOL_NAME_RE.match(name):
        return None
    return Tool(
        name=name,
        title=item.get("title"),
        description=str(item.get("description") or ""),
        input_schema=item.get("inputSchema") or {"type": "object"},
        output_schema=item.get("outputSchema"),
        annotations=item.get("annotations"),
        required_scopes=frozenset(upstream.scopes),
        handler=partial(calls.call_tool, upstream, remote, era),
        upstream=upstream.name,
    )


def _prompt(upstream: UpstreamConfig, era: listing.Era, item: dict[str, Any]) -> Prompt | None:
    remote = str(item.get("name") or "")
    if not remote:
        return None
    arguments = tuple(
        PromptArgument(
            name=str(a.get("name")),
            description=str(a.get("description") or ""),
            required=bool(a.get("required")),
        )
        for a in item.get("arguments") or ()
        if isinstance(a, dict) and a.get("name")
    )
    return Prompt(
        name=f"{upstream.name}.{remote}",
        title=item.get("title"),
        description=str(item.get("description") or ""),
        arguments=arguments,
        required_scopes=frozenset(upstream.scopes),
        handler=partial(calls.get_prompt, upstream, remote, era),
    )


def _labels(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": item.get("title"),
        "description": item.get("description"),
        "mime_type": item.get("mimeType"),
    }


def _built(make: Any, *args: Any) -> Any:
    try:
        return make(*args)
    except Exception:
        logger.warning("upstream %s: an item was left out", args[0].name, exc_info=True)
        return None


def _part(upstream: UpstreamConfig, found: listing.Listing) -> ToolSet:
    key = (upstream.rev, found.digest)
    part = _parts.get(key)
    if part is not None:
        return part
    era, scopes = found.era, frozenset(upstream.scopes)
    read = partial(calls.read_resource, upstream, era)
    tools = [_built(_tool, upstream, era, item) for item in found.tools]
    prompts = [_built(_prompt, upstream, era, item) for item in found.prompts]
    resources = [
        Resource(
            uri=str(r["uri"]),
            name=f"{upstream.name}.{r.get('name') or r['uri']}",
            handler=read,
            required_scopes=scopes,
            **_labels(r),
        )
        for r in found.resources
        if isinstance(r, dict) and r.get("uri")
    ]
    templates = [
        ResourceTemplate(
            uri_template=str(t["uriTemplate"]),
            name=f"{upstream.name}.{t.get('name') or t['uriTemplate']}",
            handler=read,
            required_scopes=scopes,
            **_labels(t),
        )
        for t in found.templates
        if isinstance(t, dict) and t.get("uriTemplate")
    ]
    part = ToolSet(
        name=f"upstream:{upstream.name}",
        tools=tuple(t for t in tools if t is not None),
        resources=tuple(resources),
        templates=tuple(templates),
        prompts=tuple(p for p in prompts if p is not None),
    )
    return _bounded(_parts, key, part)


async def _listed(tenant_id: int, upstream: UpstreamConfig) -> listing.Listing:
    try:
        return await listing.get(tenant_id, upstream)
    except Exception:  # one upstream's trouble never takes the catalogue down
        logger.exception("upstream %s: listing failed", upstream.name)
        return listing.from_json({"error": "listing failed"})


async def tenant_catalogue(tenant: TenantView, static: Catalogue) -> Catalogue:
    """``static`` followed by the tenant's own tools (``tenant.own_tools`` must be set)."""
    own = tenant.own_tools
    assert own is not None  # noqa: S101 (the caller checked)
    found = await asyncio.gather(*(_listed(tenant.id, u) for u in own.upstreams))
    signature = (own.rev, tenant.disabled_tools, tuple(f.digest for f in found))
    entry = _merged.get(tenant.id)
    if entry is not None and entry.signature == signature and entry.static is static:
        return entry.catalogue
    http = tuple(t for t in (_http_tool(c) for c in own.http_tools) if t is not None)
    parts = [
        ToolSet(
            name="static",
            tools=static.tools,
            resources=static.resources,
            templates=static.templates,
            prompts=static.prompts,
        ),
        ToolSet(name="http", tools=http),
        *(_part(u, f) for u, f in zip(own.upstreams, found, strict=True)),
    ]
    catalogue = build_catalogue(
        parts, disabled=tenant.disabled_tools, instructions=static.instructions
    )
    _bounded(_merged, tenant.id, _Merged(signature=signature, static=static, catalogue=catalogue))
    return catalogue
