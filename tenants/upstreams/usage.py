"""Per upstream of a tenant: calls, errors and latency, from the tool-call audit log.

Every call of a tenant's own tool is audited with ``details.upstream`` (the server's name,
or ``http:`` and the tool's name), ``upstream_ms`` and, when it failed, ``upstream_error``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tenants.models import AuditLog, Tenant

# Rows read for one report at most: enough for a day of a busy tenant, bounded for the page.
MAX_ROWS = 20_000


@dataclass(frozen=True, slots=True)
class UpstreamUsage:
    upstream: str
    calls: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None
    last_error: str

    @property
    def error_percent(self) -> str:
        return f"{100 * self.errors / self.calls:.1f}" if self.calls else "0.0"


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)


def upstream_usage(*, tenant: Tenant, since: dt.datetime) -> list[UpstreamUsage]:
    rows = (
        AuditLog.objects.filter(
            tenant=tenant, action="tool.call", time__gte=since, details__has_key="upstream"
        )
        .order_by("time")
        .values_list("details", flat=True)[:MAX_ROWS]
    )
    latencies: dict[str, list[float]] = {}
    counts: dict[str, list[Any]] = {}
    for details in rows:
        name = str(details.get("upstream"))
        seen = counts.setdefault(name, [0, 0, ""])
        seen[0] += 1
        if details.get("result") in ("is_error", "protocol_error"):
            seen[1] += 1
            seen[2] = str(details.get("upstream_error") or details.get("result"))
        if isinstance(details.get("upstream_ms"), int | float):
            latencies.setdefault(name, []).append(float(details["upstream_ms"]))
    return [
        UpstreamUsage(
            upstream=name,
            calls=calls,
            errors=errors,
            p50_ms=_percentile(latencies.get(name, []), 0.5),
            p95_ms=_percentile(latencies.get(name, []), 0.95),
            last_error=last,
        )
        for name, (calls, errors, last) in sorted(counts.items())
    ]
