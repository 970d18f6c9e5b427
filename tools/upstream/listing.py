"""What an upstream server offers (tools, resources, templates, prompts, and its era), fetched
once and shared by every instance through the encrypted store.

A listing is kept under the upstream's id and configuration revision for as long as the
upstream's lists say they stay fresh (a 2026-07-28 upstream's ``ttlMs``, the shortest of its
lists), never less than ``UPSTREAM_LIST_MIN_INTERVAL`` nor more than
``UPSTREAM_LIST_INTERVAL`` seconds (a 2025-11-25 upstream gives no lifetime: the interval),
then fetched again by the next request that needs it (one fetch per process at a time; the
others wait for it). A fetch that finds a list other than the last good one tells the
tenant's listening clients (a 2026-07-28 upstream announces changes only on listen streams,
which the gateway does not hold). When the upstream says a list changed (``changed``: seen on
any call's connection), the entries are deleted on every instance (the store's group
deletion) and the tenant's listening clients are told. A change of the upstream's
configuration makes a new revision, so nothing fetched under the old one is used.

An upstream that cannot be listed keeps its last good listing (kept a day) with the error
noted, so its tools stay listed and their calls answer an ``isError`` result saying why;
it is tried again after ``UPSTREAM_RETRY_INTERVAL``. While the shared store is unreachable a
listing is remembered in this process for the retry interval, so a dead Redis does not
turn every request into a fetch.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from mcpserver.conf import mcp_settings
from mcpserver.process import process_state
from sessions_store.errors import StoreUnavailable
from sessions_store.store import get_store
from tenants.services.secrets import upstream_listings_group
from tenants.upstreams.config import UpstreamConfig
from tools import events
from tools.upstream.connection import Deadline, UpstreamFailure, connect, dump, failure

logger = logging.getLogger("tools.upstream")

_GOOD_TTL = 86_400.0
_MAX_PAGES = 20
_KINDS = ("tools", "resources", "templates", "prompts")


@dataclass(frozen=True, slots=True)
class Era:
    """How to talk to the upstream: ``legacy`` (initialize), a 2026 version with its discover
    result (no probe needed), or ``auto`` (probe, then fall back)."""

    mode: str = "auto"
    discover: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    era: Era
    tools: tuple[dict[str, Any], ...]
    resources: tuple[dict[str, Any], ...]
    templates: tuple[dict[str, Any], ...]
    prompts: tuple[dict[str, Any], ...]
    digest: str
    error: str = ""


def _digest(data: dict[str, Any]) -> str:
    wanted = {k: data.get(k) for k in (*_KINDS, "mode", "discover", "error")}
    canonical = json.dumps(wanted, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def from_json(data: Any) -> Listing:
    if not isinstance(data, dict):
        data = {}
    return Listing(
        era=Era(mode=str(data.get("mode") or "auto"), discover=data.get("discover")),
        tools=tuple(data.get("tools") or ()),
        resources=tuple(data.get("resources") or ()),
        templates=tuple(data.get("templates") or ()),
        prompts=tuple(data.get("prompts") or ()),
        digest=str(data.get("digest") or _digest(data)),
        error=str(data.get("error") or ""),
    )


def _key(upstream: UpstreamConfig) -> str:
    return f"upstream-list:{upstream.id}:{upstream.rev}"


def _good_key(upstream: UpstreamConfig) -> str:
    return f"upstream-good:{upstream.id}:{upstream.rev}"


def _groups(tenant_id: int, upstream: UpstreamConfig) -> list[str]:
    return [f"upstream:{upstream.id}", upstream_listings_group(tenant_id)]


async def _pages(
    fetch: Callable[..., Awaitable[Any]], field: str, fresh_for: list[float]
) -> list[dict[str, Any]]:
    """Every page of one list; each page's own lifetime (``ttlMs``, when it sent one) is
    added to ``fresh_for``, in seconds."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(_MAX_PAGES):
        page = await fetch(cursor=cursor)
        if "ttl_ms" in getattr(page, "model_fields_set", ()):
            fresh_for.append(max(float(page.ttl_ms), 0.0) / 1000)
        items.extend(dump(item) for item in getattr(page, field))
        cursor = page.next_cursor
        if not cursor or len(items) >= int(mcp_settings.UPSTREAM_MAX_ITEMS):
            break
    return items[: int(mcp_settings.UPSTREAM_MAX_ITEMS)]


async def fetch(tenant_id: int, upstream: UpstreamConfig) -> dict[str, Any]:
    """The upstream's listing as JSON, fetched now; raises ``UpstreamFailure``."""
    seconds = min(upstream.timeout, float(mcp_settings.UPSTREAM_LIST_TIMEOUT))
    deadline = Deadline(seconds)
    data: dict[str, Any] = {}
    fresh_for: list[float] = []
    expanded = None
    try:
        with deadline:
            async with connect(upstream, tenant_id=tenant_id) as (client, expanded):
                caps = client.server_capabilities
                version = client.protocol_version
                if caps.tools is not None:
                    data["tools"] = await _pages(client.list_tools, "tools", fresh_for)
                if caps.resources is not None:
                    data["resources"] = await _pages(client.list_resources, "resources", fresh_for)
                    data["templates"] = await _pages(
                        client.list_resource_templates, "resource_templates", fresh_for
                    )
                if caps.prompts is not None:
                    data["prompts"] = await _pages(client.list_prompts, "prompts", fresh_for)
                discover = client.session.discover_result
        if deadline.expired:
            raise TimeoutError
    except Exception as exc:  # noqa: BLE001 (every failure becomes a safe message)
        raise failure(upstream, exc, expanded) from None
    legacy = version in HANDSHAKE_PROTOCOL_VERSIONS
    data["mode"] = "legacy" if legacy else version
    data["discover"] = None if legacy or discover is None else dump(discover)
    data["digest"] = _digest(data)
    if not legacy and fresh_for:
        data["fresh_for"] = min(fresh_for)
    return data


def fresh_for(data: dict[str, Any]) -> float:
    """How long a fetched listing is kept, in seconds: the upstream's own lifetime for it,
    within the configured bounds; the interval when the upstream gave none."""
    longest = float(mcp_settings.UPSTREAM_LIST_INTERVAL)
    shortest = min(float(mcp_settings.UPSTREAM_LIST_MIN_INTERVAL), longest)
    given = data.get("fresh_for")
    if not isinstance(given, int | float) or isinstance(given, bool) or given != given:
        return longest
    return min(max(float(given), shortest), longest)


# The notification that says a list changed, and the lists of a listing it covers.
_CHANGES = (
    ("notifications/tools/list_changed", ("tools",)),
    ("notifications/resources/list_changed", ("resources", "templates")),
    ("notifications/prompts/list_changed", ("prompts",)),
)


def changes(before: Any, after: dict[str, Any]) -> list[str]:
    """The list-changed notifications that tell a client what differs between two fetched
    listings; none when there was no listing before (nothing a client could have listed)."""
    if not isinstance(before, dict) or before.get("error"):
        return []
    return [
        method
        for method, kinds in _CHANGES
        if any((before.get(kind) or []) != (after.get(kind) or []) for kind in kinds)
    ]


# (event loop id, key) -> the fetch in flight; key -> (listing, until) while the store is down
_inflight: dict[tuple[int, str], asyncio.Task[Listing]] = process_state.cache("upstream.inflight")
_memo: dict[str, tuple[Listing, float]] = process_state.cache("upstream.memo")


async def get(tenant_id: int, upstream: UpstreamConfig) -> Listing:
    """The upstream's listing: cached, or fetched now (bounded by the upstream's timeout)."""
    key = _key(upstream)
    found = await get_store().aget_view(key, from_json)
    if found is not None:
        return found
    memo = _memo.get(key)
    if memo is not None and memo[1] > time.monotonic():
        return memo[0]
    loop = asyncio.get_running_loop()
    flight = (id(loop), key)
    task = _inflight.get(flight)
    if task is None:
        task = loop.create_task(_refresh(tenant_id, upstream))
        _inflight[flight] = task
        task.add_done_callback(lambda _: _inflight.pop(flight, None))
    # Shielded: a waiter whose own request is cancelled leaves the fetch to the others.
    return await asyncio.shield(task)


async def _refresh(tenant_id: int, upstream: UpstreamConfig) -> Listing:
    store = get_store()
    groups = _groups(tenant_id, upstream)
    try:
        data = await fetch(tenant_id, upstream)
        ttl = fresh_for(data)
        before = await store.aget_json(_good_key(upstream))
        await store.aset_json(_good_key(upstream), data, ttl=_GOOD_TTL, groups=groups)
        await _tell(tenant_id, upstream, changes(before, data))
    except UpstreamFailure as problem:
        logger.warning("upstream %s not listed: %s", upstream.name, problem.what)
        good = await store.aget_json(_good_key(upstream))
        data = {**(good if isinstance(good, dict) else {}), "error": str(problem)}
        data["digest"] = _digest(data)
        ttl = float(mcp_settings.UPSTREAM_RETRY_INTERVAL)
    listing = from_json(data)
    try:
        await store.aset_json(_key(upstream), data, ttl=ttl, groups=groups, strict=True)
        _memo.pop(_key(upstream), None)
    except StoreUnavailable:
        retry = float(mcp_settings.UPSTREAM_RETRY_INTERVAL)
        _memo[_key(upstream)] = (listing, time.monotonic() + min(ttl, retry))
    return listing


_ANNOUNCED = frozenset(method for method, _kinds in _CHANGES)


async def _tell(tenant_id: int, upstream: UpstreamConfig, methods: list[str]) -> None:
    """The tenant's listening clients told of lists a fetch found changed; never raises (a
    client re-listing sees the change anyway)."""
    for method in methods:
        try:
            await events.announce_bounded(tenant_id, method)
        except Exception as exc:  # noqa: BLE001
            logger.warning("list change of upstream %s not passed on (%s)", upstream.name, exc)
            return


async def changed(tenant_id: int, upstream: UpstreamConfig, method: str) -> None:
    """The upstream said ``method`` (a list changed): drop its listing everywhere, tell the
    tenant's clients. Never raises: the call that saw it goes on."""
    _memo.clear()
    try:
        await get_store().adelete_group(f"upstream:{upstream.id}")
        if method in _ANNOUNCED:
            await events.announce_bounded(tenant_id, method)
    except Exception as exc:  # noqa: BLE001 (the listing expires by itself anyway)
        logger.warning("list change of upstream %s not passed on (%s)", upstream.name, exc)
