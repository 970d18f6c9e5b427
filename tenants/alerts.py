"""Conditions an operator must hear about, raised by the background jobs.

Each is one function, called where the condition is found. Each logs one WARNING line now
(what to alert on, README "Background jobs"); the metrics exporter hooks the same functions
to move a counter or gauge, so the log line and the metric can never disagree.
"""

from __future__ import annotations

import logging

from mcpserver.process import process_state

logger = logging.getLogger("tenants.alerts")

# What the metrics exporter copies into its series (mcpserver.observability.bridge): keyed
# "task|outcome" and by tenant slug, bounded by the task names and the tenants.
task_results = process_state.counter("alerts.task_results")
jwks_stale = process_state.counter("alerts.jwks_stale")


def record_jwks_stale(
    *, provider_id: int, tenant_slug: str, issuer: str, age_seconds: float | None, error: str
) -> None:
    """A provider's signing keys were not refreshed for longer than JWKS_CACHE_TTL: once its
    cached copy expires, its tokens cannot be validated. ``age_seconds`` None: never fetched."""
    jwks_stale[tenant_slug] += 1
    age = "never refreshed" if age_seconds is None else f"not refreshed for {age_seconds:.0f} s"
    logger.warning(
        "JWKS of provider %s (tenant %s, %s) %s; last error: %s",
        provider_id,
        tenant_slug,
        issuer,
        age,
        error or "none recorded",
        extra={
            "alert": "jwks_stale",
            "provider_id": provider_id,
            "tenant": tenant_slug,
            "age_seconds": age_seconds,
        },
    )


def record_task_result(*, task: str, outcome: str) -> None:
    """One background job finished: ``outcome`` is success, retry or failure."""
    task_results[f"{task}|{outcome}"] += 1
    level = logging.WARNING if outcome == "failure" else logging.DEBUG
    logger.log(level, "job %s: %s", task, outcome, extra={"task": task, "outcome": outcome})
