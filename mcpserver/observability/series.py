"""The Prometheus series this server exports, and the cheap calls that update them.

Every label set is bounded: tenant slugs, protocol eras, the dispatcher's method names, tool
names the tenant's catalogue knows, and fixed outcome words. Never a subject, a credential, a
session or request id, or anything else a client chooses freely.

Several worker processes (``uvicorn --workers N``) share one view through prometheus-client's
multiprocess mode: with ``PROMETHEUS_MULTIPROC_DIR`` set (an empty directory, before the
server starts), every process writes its values to memory-mapped files there and ``/metrics``
adds them up. Without it each process keeps its own registry (right for one process).

The request path calls ``observe_request`` and ``observe_authentication``: one dictionary
lookup for the labelled children (cached here, so the library's label lock is taken once per
label set), then the increments themselves.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from mcpserver.process import process_state

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# Seconds, from a process-tier authenticated ping (~0.2 ms) to a slow upstream tool call.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

requests = Counter(
    "mcp_requests",
    "MCP requests answered, by tenant, protocol era, JSON-RPC method, tool and outcome.",
    ["tenant", "era", "method", "tool", "outcome"],
)
request_duration = Histogram(
    "mcp_request_duration_seconds",
    "Time from the request reaching the endpoint to its answer being sent (streams excluded).",
    ["era", "method", "tool", "outcome"],
    buckets=LATENCY_BUCKETS,
)
authentications = Counter(
    "mcp_authentications",
    "Authentications at an MCP endpoint, by tenant, path taken and result.",
    ["tenant", "path", "result"],
)
ratelimit_refusals = Counter(
    "mcp_ratelimit_refusals",
    "Requests refused with 429, by tenant and the limit that refused them.",
    ["tenant", "scope"],
)
ratelimit_decisions = Counter(
    "mcp_ratelimit_decisions",
    "Rate-limit decisions: allowed, refused, and local (made in-process for want of Redis).",
    ["decision"],
)
legacy_sessions = Counter(
    "mcp_legacy_sessions",
    "Legacy (2025-11-25 and older) sessions created and ended, by tenant.",
    ["tenant", "event"],
)
open_streams = Gauge(
    "mcp_open_streams",
    "Event streams (subscriptions/listen, legacy GET) held open.",
    multiprocess_mode="livesum",
)
store_operations = Counter(
    "mcp_store_operations",
    "Shared-store reads by tier (process, shared) and result (hit, miss).",
    ["tier", "result"],
)
store_errors = Counter(
    "mcp_store_errors",
    "Shared-store operations that failed because Redis was unreachable, by operation.",
    ["tier", "operation"],
)
store_events = Counter(
    "mcp_store_events",
    "Other shared-store events (refusals, revocation replays, journal fallbacks ...).",
    ["event"],
)
redis_outages = Counter(
    "mcp_redis_outages",
    "Times a part stopped using Redis (store circuit breaker opened, rate limiter degraded).",
    ["part"],
)
redis_recoveries = Counter(
    "mcp_redis_recoveries", "Times a part went back to Redis after an outage.", ["part"]
)
redis_degraded = Gauge(
    "mcp_redis_degraded",
    "1 while some process runs a part without Redis (the rate limiter limits on its own).",
    ["part"],
    multiprocess_mode="max",
)
jwks_fetches = Counter("mcp_jwks_fetches", "JWKS documents fetched from identity providers.")
jwks_fetch_failures = Counter(
    "mcp_jwks_fetch_failures", "JWKS fetches (discovery included) that failed or were refused."
)
jwks_discoveries = Counter("mcp_jwks_discoveries", "Identity provider metadata discoveries.")
jwks_cooldown_refusals = Counter(
    "mcp_jwks_cooldown_refusals",
    "JWKS refetches not attempted because the provider's cooldown had not passed.",
)
jwks_fetched_at = Gauge(
    "mcp_jwks_last_fetch_timestamp_seconds",
    "When the freshest JWKS any process holds for an issuer was fetched (age: time() - this).",
    ["issuer"],
    multiprocess_mode="max",
)
audit_queue = Gauge(
    "mcp_audit_queue_depth",
    "Tool-call audit records waiting: in a process's queue (Redis down) or the shared stream.",
    ["where"],
    multiprocess_mode="max",
)
audit_lag = Gauge(
    "mcp_audit_lag_seconds",
    "Age of the oldest tool-call audit record not yet written to the database.",
    multiprocess_mode="max",
)
jwks_stale_alerts = Counter(
    "mcp_jwks_stale_alerts",
    "Checks that found a provider's keys not refreshed for longer than their cache lifetime.",
    ["tenant"],
)
celery_tasks = Counter(
    "mcp_celery_tasks", "Background task runs by task name and final state.", ["task", "state"]
)

_request_children: dict[tuple[str, ...], tuple[Any, Any]] = process_state.cache(
    "metrics.request_children"
)
_auth_children: dict[tuple[str, str, str], Any] = process_state.cache("metrics.auth_children")


def observe_request(
    *, tenant: str, era: str, method: str, tool: str, outcome: str, seconds: float | None
) -> None:
    """One answered request; ``seconds`` None for a stream (counted, not timed)."""
    key = (tenant, era, method, tool, outcome)
    children = _request_children.get(key)
    if children is None:
        children = (requests.labels(*key), request_duration.labels(era, method, tool, outcome))
        _request_children[key] = children
    children[0].inc()
    if seconds is not None:
        children[1].observe(seconds)


def observe_authentication(*, tenant: str, path: str, result: str) -> None:
    key = (tenant, path, result)
    child = _auth_children.get(key)
    if child is None:
        child = _auth_children[key] = authentications.labels(*key)
    child.inc()


def observe_rate_limited(*, tenant: str, scope: str) -> None:
    ratelimit_refusals.labels(tenant, scope).inc()


def observe_legacy_session(*, tenant: str, event: str) -> None:
    legacy_sessions.labels(tenant, event).inc()
