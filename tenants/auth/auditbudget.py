"""How many authentication failures one instance writes to the audit log per minute.

Two caps apply together: one per source address (``AUTH_FAILURE_AUDIT_PER_MINUTE``) and one
per tenant (``AUTH_FAILURE_AUDIT_PER_TENANT_PER_MINUTE``), so spreading a flood over many
addresses cannot fill a tenant's audit log either. A record refused by a cap is counted
against the key whose cap refused it, and the count rides on the next record written for that
key. A write that then fails hands its counts back (plus itself), so a record lost to the
database never loses the tally of what was suppressed before it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from mcpserver.conf import mcp_settings
from mcpserver.process import process_state

WINDOW = 60.0
# Past this many distinct keys a table starts over: memory stays bounded under a spray of
# source addresses; the tenant cap still holds meanwhile.
_MAX_KEYS = 10_000

# The clock the windows run on; tests move it forward instead of waiting a minute.
clock: Callable[[], float] = time.monotonic


@dataclass(slots=True)
class _Window:
    start: float
    written: int = 0
    suppressed: int = 0


@dataclass(frozen=True, slots=True)
class Grant:
    """Leave to write one record, with the suppressed counts it must carry."""

    source: str
    tenant: str
    suppressed: int
    suppressed_for_tenant: int


_lock = threading.Lock()
_by_source: dict[str, _Window] = process_state.cache("auditing.budget_by_source")
_by_tenant: dict[str, _Window] = process_state.cache("auditing.budget_by_tenant")


def _current(table: dict[str, _Window], key: str, now: float) -> _Window:
    entry = table.get(key)
    if entry is None:
        if len(table) >= _MAX_KEYS:
            table.clear()
        entry = table[key] = _Window(start=now)
    elif now - entry.start >= WINDOW:
        entry.start, entry.written = now, 0
    return entry


def take(*, source: str, tenant: str) -> Grant | None:
    """A grant to write one record for ``source`` at ``tenant``, or None (counted instead)."""
    with _lock:
        now = clock()
        by_source = _current(_by_source, source, now)
        by_tenant = _current(_by_tenant, tenant, now)
        if by_source.written >= mcp_settings.AUTH_FAILURE_AUDIT_PER_MINUTE:
            by_source.suppressed += 1
            return None
        if by_tenant.written >= mcp_settings.AUTH_FAILURE_AUDIT_PER_TENANT_PER_MINUTE:
            by_tenant.suppressed += 1
            return None
        by_source.written += 1
        by_tenant.written += 1
        grant = Grant(
            source=source,
            tenant=tenant,
            suppressed=by_source.suppressed,
            suppressed_for_tenant=by_tenant.suppressed,
        )
        by_source.suppressed = by_tenant.suppressed = 0
        return grant


def give_back(grant: Grant) -> None:
    """The record of ``grant`` was not written: its counts, and itself, ride on the next one."""
    with _lock:
        now = clock()
        _current(_by_source, grant.source, now).suppressed += grant.suppressed + 1
        _current(_by_tenant, grant.tenant, now).suppressed += grant.suppressed_for_tenant
