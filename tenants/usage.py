"""A tenant's tool usage, read from the audit log: the selector behind ``tool_usage`` and the
admin's usage page.

Errors are calls answered with ``isError: true`` or a JSON-RPC error; refusals are calls
stopped before the tool ran (insufficient scope, rate limited). Both count as calls.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, FloatField, Max, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncDate

from tenants.models import AuditLog, Tenant
from tenants.toolaudit import ACTION


@dataclass(frozen=True)
class ToolUsage:
    tool: str
    calls: int
    errors: int
    refused: int
    mean_ms: float
    max_ms: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0

    def counts(self) -> dict[str, int]:
        return {"calls": self.calls, "errors": self.errors, "refused": self.refused}


@dataclass(frozen=True)
class DayUsage:
    day: dt.date
    calls: int
    errors: int
    by_tool: dict[str, int]


@dataclass(frozen=True)
class Usage:
    tools: list[ToolUsage]  # by tool name
    days: list[DayUsage]  # oldest first, days without calls left out

    @property
    def calls(self) -> int:
        return sum(tool.calls for tool in self.tools)

    @property
    def errors(self) -> int:
        return sum(tool.errors for tool in self.tools)

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0

    def slowest(self, count: int = 5) -> list[ToolUsage]:
        return sorted(self.tools, key=lambda tool: tool.mean_ms, reverse=True)[:count]


def tool_usage(*, tenant: Tenant, since: dt.datetime | None = None) -> Usage:
    calls = AuditLog.objects.filter(tenant=tenant, action=ACTION)
    if since is not None:
        calls = calls.filter(time__gte=since)
    duration = Cast(KT("details__duration_ms"), FloatField())
    failed = Q(outcome=AuditLog.Outcome.FAILURE)
    per_tool = (
        calls.order_by()
        .values("target")
        .annotate(
            calls=Count("id"),
            errors=Count("id", filter=failed),
            refused=Count("id", filter=Q(outcome=AuditLog.Outcome.DENIED)),
            mean_ms=Avg(duration),
            max_ms=Max(duration),
        )
        .order_by("target")
    )
    tools = [
        ToolUsage(
            tool=row["target"],
            calls=row["calls"],
            errors=row["errors"],
            refused=row["refused"],
            mean_ms=round(row["mean_ms"] or 0.0, 3),
            max_ms=round(row["max_ms"] or 0.0, 3),
        )
        for row in per_tool
    ]
    per_day = (
        calls.order_by()
        .annotate(day=TruncDate("time"))
        .values("day", "target")
        .annotate(calls=Count("id"), errors=Count("id", filter=failed))
        .order_by("day", "target")
    )
    days: dict[dt.date, DayUsage] = {}
    for row in per_day:
        day = days.setdefault(row["day"], DayUsage(row["day"], 0, 0, {}))
        day.by_tool[row["target"]] = row["calls"]
        days[row["day"]] = DayUsage(
            day.day, day.calls + row["calls"], day.errors + row["errors"], day.by_tool
        )
    return Usage(tools=tools, days=list(days.values()))
