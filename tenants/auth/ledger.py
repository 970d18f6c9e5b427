"""Revocations recorded in the database, checked on the cached path without a query per request.

Deleting cached entries from Redis is the fast way to revoke, but it cannot be the only one: a
deletion Redis never received (it was down or hung when the revocation committed, and the
process holding it for retry exited) or that Redis forgot (restarted from a snapshot taken
before it) would leave a revoked credential cached for the rest of its TTL. So every revocation
also writes one row per group, in its own transaction, and every process keeps a *view*: the
newest row id of each group, reloaded at most once per ``REVOCATION_CHECK_INTERVAL``.

A cached entry carries a *stamp*: the view's ids for its groups when its credential was
validated (the view is read before the database is). An entry whose groups' ids differ from
the current view's is refused, and full validation follows. Ids are compared for equality, not
order, so a row committed out of id order is still seen; a stale view only makes a stamp
older, which costs a revalidation, never a wrong answer. A revocation is therefore in force on
every instance within the interval (plus one query), whatever Redis did in between.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import timedelta

from channels.db import database_sync_to_async
from django.db import DatabaseError
from django.db.models import Max
from django.utils import timezone

from mcpserver.conf import mcp_settings
from mcpserver.process import process_state
from tenants.models import Revocation

logger = logging.getLogger(__name__)

View = Mapping[str, int]
Stamp = Mapping[str, int]


def record(groups: Iterable[str]) -> None:
    """Write the revocation of ``groups``; call inside the transaction that revokes."""
    now = timezone.now()
    Revocation.objects.bulk_create([Revocation(group=group, created_at=now) for group in groups])
    # No cached entry outlives the longest auth TTL: older rows can no longer refuse anything.
    keep = max(float(mcp_settings.AUTH_CACHE_TTL), float(mcp_settings.AUTH_TENANT_CACHE_TTL))
    Revocation.objects.filter(created_at__lt=now - timedelta(seconds=keep + 60)).delete()


def _load() -> dict[str, int]:
    rows = Revocation.objects.values("group").annotate(top=Max("id")).values_list("group", "top")
    return {group: int(top) for group, top in rows}


class _Ledger:
    def __init__(self) -> None:
        self.view: dict[str, int] | None = None
        self.checked = -float("inf")  # monotonic time of the last load attempt
        # Until then the view is answered as it is, with no await (the hot path).
        self.fresh_until = -float("inf")
        self._lock = threading.Lock()

    async def current(self) -> View | None:
        """The view, reloaded when older than the interval; None if it was never loaded."""
        if time.monotonic() - self.checked < float(mcp_settings.REVOCATION_CHECK_INTERVAL):
            return self.view
        # One reload at a time; meanwhile the others use the view they have, if any.
        if not self._lock.acquire(blocking=False):
            return self.view if self.view is not None else await self._reload()
        try:
            return await self._reload()
        finally:
            self._lock.release()

    async def _reload(self) -> View | None:
        started = time.monotonic()
        try:
            view = await database_sync_to_async(_load)()
        except DatabaseError as exc:
            # Keep the last view: a revocation needs the database too, so one it cannot see is
            # one this instance cannot reach either. Retried after the interval, not per call.
            self.checked = started
            self.fresh_until = started + float(mcp_settings.REVOCATION_CHECK_INTERVAL)
            logger.warning("revocation ledger not reloaded (%s)", type(exc).__name__)
            return self.view
        self.view, self.checked = view, started
        self.fresh_until = started + float(mcp_settings.REVOCATION_CHECK_INTERVAL)
        return view


_ledger = process_state.slot("ledger.view", _Ledger)


async def current_view() -> View | None:
    ledger = _ledger.get()
    if time.monotonic() < ledger.fresh_until:
        return ledger.view
    return await ledger.current()


def stamp(view: View | None, groups: Iterable[str]) -> dict[str, int]:
    if not view:
        return {}
    return {group: view[group] for group in groups if group in view}


def still_current(view: View | None, groups: Iterable[str], recorded: Stamp) -> bool:
    """Whether no group of an entry stamped ``recorded`` was revoked since (as far as
    ``view`` knows); with no view at all nothing cached is trusted."""
    if view is None:
        return False
    if not view and not recorded:  # the usual case: nothing revoked lately
        return True
    return all(view.get(group, 0) == recorded.get(group, 0) for group in groups)
