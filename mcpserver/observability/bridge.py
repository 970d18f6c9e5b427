"""Each part's own process-local counters, copied into the exported series.

The store (``sessions_store.metrics``), the JWKS cache (``tenants.auth.jwks.stats``), the rate
limiter (``tenants.ratelimit.counters()``), the audit journal and the stream slots count in
plain dictionaries, cheap on the hot path and free of any exporter. In multiprocess mode a
scrape reads only the files every process writes, never another process's memory, so each
process copies what changed into the series: a daemon thread every
``METRICS_FLUSH_INTERVAL`` seconds, and the scraped process once more before it answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from mcpserver.conf import mcp_settings
from mcpserver.observability import series as s
from mcpserver.process import process_state
from mcpserver.protocol.streamslots import slots
from sessions_store import metrics as store_metrics
from tenants import alerts, ratelimit, toolaudit
from tenants.auth import jwks

logger = logging.getLogger("mcpserver.observability")

_seen: dict[str, float] = process_state.cache("metrics.bridge.seen")
_lock = threading.Lock()
_started = threading.Event()

_RATELIMIT = {
    "ratelimit.allowed": s.ratelimit_decisions.labels("allowed"),
    "ratelimit.refused": s.ratelimit_decisions.labels("refused"),
    "ratelimit.local": s.ratelimit_decisions.labels("local"),
    "ratelimit.degraded": s.redis_outages.labels("ratelimit"),
    "ratelimit.restored": s.redis_recoveries.labels("ratelimit"),
}
_JWKS = {
    "fetches": s.jwks_fetches,
    "fetch_failures": s.jwks_fetch_failures,
    "discoveries": s.jwks_discoveries,
    "cooldown_refusals": s.jwks_cooldown_refusals,
}


def _store_series(name: str) -> Any:
    """The series a ``sessions_store.metrics`` name counts in (names are fixed in the code)."""
    if name == "store.hit.process":
        return s.store_operations.labels("process", "hit")
    if name == "store.hit.shared":
        return s.store_operations.labels("shared", "hit")
    if name == "store.miss":
        return s.store_operations.labels("shared", "miss")
    if name.startswith("store.unavailable."):
        return s.store_errors.labels("shared", name.removeprefix("store.unavailable."))
    if name == "store.breaker.opened":
        return s.redis_outages.labels("store")
    if name == "store.breaker.closed":
        return s.redis_recoveries.labels("store")
    return s.store_events.labels(name)


def _copy(prefix: str, counts: Mapping[str, float], target: Any) -> None:
    """Add what each counter gained since the last copy (a reset counter starts over)."""
    for name, value in list(counts.items()):
        series = target(name)
        if series is None:
            continue
        key = prefix + name
        before = _seen.get(key, 0)
        gained = value - before if value >= before else value
        _seen[key] = value
        if gained > 0:
            series.inc(gained)


def _audit_queue() -> None:
    try:
        queued, backlog, oldest = toolaudit.journal().depth()
    except Exception as exc:  # noqa: BLE001 (Redis down: the store's own series say so)
        logger.debug("metrics: audit journal depth unavailable (%s)", type(exc).__name__)
        return
    s.audit_queue.labels("process").set(queued)
    s.audit_queue.labels("stream").set(backlog)
    s.audit_lag.set(oldest)


def flush() -> None:
    """Copy this process's counters into the series now."""
    with _lock:
        _copy("store:", store_metrics.snapshot(), _store_series)
        _copy("jwks:", dict(jwks.stats), _JWKS.get)
        limits = ratelimit.counters()
        _copy("rl:", limits, _RATELIMIT.get)
        s.redis_degraded.labels("ratelimit").set(limits.get("ratelimit.degraded_now", 0))
        for issuer, fetched_at in jwks.fetch_times().items():
            s.jwks_fetched_at.labels(issuer).set(fetched_at)
        s.open_streams.set(slots.total)
        _copy("task:", alerts.task_results, lambda key: s.celery_tasks.labels(*key.split("|", 1)))
        _copy("stale:", alerts.jwks_stale, s.jwks_stale_alerts.labels)
        _audit_queue()


def _run() -> None:
    while True:
        time.sleep(float(mcp_settings.METRICS_FLUSH_INTERVAL))
        try:
            flush()
        except Exception:  # a metrics fault must never end the thread, nor the process
            logger.exception("metrics: copying the process counters failed")


def start() -> None:
    """Start this process's copying thread (once; the server's entry point calls it)."""
    if _started.is_set():
        return
    _started.set()
    threading.Thread(target=_run, name="metrics-bridge", daemon=True).start()
