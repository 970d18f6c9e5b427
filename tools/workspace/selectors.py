"""Reads of requirements and tasks: always within one tenant, filtered, sorted, paged.

A page is found by an opaque cursor that carries its offset and a fingerprint of the filters
and order it was made for: a cursor replayed with other filters is refused rather than
silently skipping or repeating rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When

from tools.workspace import ids
from tools.workspace.models import Requirement, RequirementRepository, Task

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Deep offsets cost the database a scan each; past this, narrow the filters instead.
MAX_OFFSET = 10_000

PRIORITY_RANK = Case(
    *(When(priority=p, then=Value(rank)) for rank, p in enumerate(Requirement.Priority.values)),
    output_field=IntegerField(),
)
REQUIREMENT_SORTS = {
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "updated_at": ("updated_at", "id"),
    "-updated_at": ("-updated_at", "-id"),
    "priority": ("priority_rank", "-updated_at", "-id"),
    "-priority": ("-priority_rank", "-updated_at", "-id"),
    "title": ("title", "id"),
    "-title": ("-title", "-id"),
}


class BadCursor(ValueError):
    """The cursor was not issued for this listing (or not by this server)."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _fingerprint(listing: dict[str, Any]) -> str:
    canonical = json.dumps(listing, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(offset: int, listing: dict[str, Any]) -> str:
    token = json.dumps({"o": offset, "f": _fingerprint(listing)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, listing: dict[str, Any]) -> int:
    if cursor is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
        offset, fingerprint = decoded["o"], decoded["f"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadCursor("The cursor is not valid.") from None
    if fingerprint != _fingerprint(listing):
        raise BadCursor("The cursor belongs to a listing with other filters or order.")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise BadCursor("The cursor is not valid.")
    return offset


def _page(
    queryset: QuerySet[Any], *, cursor: str | None, limit: int, listing: dict[str, Any]
) -> Page[Any]:
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = decode_cursor(cursor, listing)
    rows = list(queryset[offset : offset + limit + 1])
    following = offset + limit
    more = len(rows) > limit and following <= MAX_OFFSET
    return Page(items=rows[:limit], next_cursor=encode_cursor(following, listing) if more else None)


def _with_details(queryset: QuerySet[Requirement]) -> QuerySet[Requirement]:
    return queryset.prefetch_related("repository_links", Prefetch("tasks", Task.objects.all()))


def requirement_get(*, tenant_id: int, public_id: str) -> Requirement | None:
    """The tenant's requirement with its repositories and tasks; None for an unknown id and
    for another tenant's id alike."""
    if not ids.looks_like(ids.REQUIREMENT_ID_RE, public_id):
        return None
    found = _with_details(Requirement.objects.filter(tenant_id=tenant_id, public_id=public_id))
    return found.first()


def requirement_list(
    *,
    tenant_id: int,
    status: str | None = None,
    priority: str | None = None,
    owner: str | None = None,
    repository: str | None = None,
    text: str | None = None,
    sort: str = "-updated_at",
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Requirement]:
    if sort not in REQUIREMENT_SORTS:
        raise ValueError(f"Unknown sort {sort!r}")
    queryset = Requirement.objects.filter(tenant_id=tenant_id)
    if status:
        queryset = queryset.filter(status=status)
    if priority:
        queryset = queryset.filter(priority=priority)
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    if repository:
        queryset = queryset.filter(repository_links__name=repository)
    if text:
        queryset = queryset.filter(Q(title__icontains=text) | Q(description__icontains=text))
    if sort.lstrip("-") == "priority":  # compiled into the query only where it orders
        queryset = queryset.annotate(priority_rank=PRIORITY_RANK)
    queryset = queryset.order_by(*REQUIREMENT_SORTS[sort])
    listing = {
        "tenant": tenant_id, "status": status, "priority": priority, "owner": owner,
        "repository": repository, "text": text, "sort": sort,
    }  # fmt: skip
    return _page(queryset, cursor=cursor, limit=limit, listing=listing)


def repositories_of(requirement_ids: list[int]) -> dict[int, list[str]]:
    """Each requirement's repository names, in the order they were linked, in one query.

    What ``prefetch_related("repository_links")`` would give, without a related manager and a
    queryset built per requirement: for a page of 20 that machinery cost more than both
    queries together."""
    names: dict[int, list[str]] = {pk: [] for pk in requirement_ids}
    links = RequirementRepository.objects.filter(requirement_id__in=requirement_ids)
    for requirement_id, name in links.order_by("id").values_list("requirement_id", "name"):
        names[requirement_id].append(name)
    return names


def task_list(
    *,
    tenant_id: int,
    requirement_id: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Task]:
    """The tenant's tasks, oldest first; an unknown requirement id lists none."""
    queryset = Task.objects.filter(requirement__tenant_id=tenant_id).select_related("requirement")
    if requirement_id is not None:
        queryset = queryset.filter(requirement__public_id=requirement_id)
    if status:
        queryset = queryset.filter(status=status)
    if assignee is not None:
        queryset = queryset.filter(assignee=assignee)
    listing = {
        "tenant": tenant_id, "requirement": requirement_id, "status": status,
        "assignee": assignee, "tasks": True,
    }  # fmt: skip
    return _page(queryset.order_by("created_at", "id"), cursor=cursor, limit=limit, listing=listing)
