"""Rate limits on ``/mcp/<slug>``: one budget for the tenant, one for each of its credentials.

``admit(tenant=..., principal=...)`` runs once per authenticated HTTP request (the endpoint
calls it before reading the message), and raises ``RateLimited`` with the seconds until a
request would pass. What counts is an HTTP request: a POST (request, notification or
response alike), a GET stream, a DELETE. A stream that stays open (``subscriptions/listen``,
the legacy GET) is counted once, when it opens: what it delivers later costs nothing.

The limits come with the tenant's cached configuration (``TenantView``), so no database query
is made here, and a change made in admin or with ``set_rate_limit`` reaches every instance as
quickly as any tenant change does. The budgets live in Redis, shared by every instance,
through the shared store's connection and circuit breaker (``tenants.ratelimit_redis``).
When Redis cannot answer, each process limits on its own with the same limits (so the fleet
admits at most one budget per process meanwhile), logs the change once each way, and counts
it (``counters()``): requests are never refused for want of Redis. Without Redis configured
at all (the embedded default) the limits are per process.

Refusals are audited at most once per tenant or credential per ``RATE_LIMIT_AUDIT_INTERVAL``
seconds on an instance, with the number refused since the last record.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import Counter

import redis

from mcpserver.conf import mcp_settings
from mcpserver.errors import RateLimited
from mcpserver.process import process_state
from sessions_store.backends.redis import RedisBackend
from sessions_store.errors import StoreUnavailable
from sessions_store.store import get_store
from tenants import ratelimit_local, ratelimit_redis
from tenants.audit import Actor, audit_record
from tenants.auth import background
from tenants.models import AuditLog
from tenants.principal import Principal
from tenants.ratelimit_rates import Rate, effective
from tenants.snapshots import TenantView

logger = logging.getLogger(__name__)

# What Redis failing looks like here; any of them means "limit in this process", never "refuse".
_REDIS_DOWN = (StoreUnavailable, redis.RedisError, OSError)
_MAX_AUDITED = 10_000

_counters: Counter[str] = process_state.counter("ratelimit.counters")
_state: dict[str, bool] = process_state.cache("ratelimit.state")
_rates: dict[tuple[str, str | None], Rate | None] = process_state.cache("ratelimit.rates")
_audited: dict[str, list[float]] = process_state.cache("ratelimit.audited")
_lock = threading.Lock()


def counters() -> dict[str, int]:
    """For a metrics exporter: ``ratelimit.allowed``, ``.refused``, ``.local`` (decisions
    made in-process for want of Redis), ``.degraded`` and ``.restored`` (transitions),
    ``.degraded_now`` (1 while this process limits on its own)."""
    return {**_counters, "ratelimit.degraded_now": int(_state.get("degraded", False))}


def _rate(setting: str, default: str | None) -> Rate | None:
    key = (setting, default)
    if key not in _rates:
        _rates[key] = effective(setting, default)
    return _rates[key]


def credential_key(principal: Principal) -> str:
    """A stable name for the credential, never the credential: the API key's id, or the
    identity provider's issuer with the subject, hashed (a JWT is renewed, its subject stays)."""
    stable = f"{principal.auth_method}\0{principal.credential_id}\0{principal.subject}"
    return hashlib.sha256(stable.encode()).hexdigest()[:32]


def _checks(tenant: TenantView, principal: Principal) -> list[tuple[str, str, Rate]]:
    """``(scope, key, rate)`` for every limit in force."""
    checks = []
    rate = _rate(tenant.rate_limit_tenant, mcp_settings.RATE_LIMIT_TENANT)
    if rate is not None:
        checks.append(("tenant", f"rl:t:{tenant.id}", rate))
    rate = _rate(tenant.rate_limit_credential, mcp_settings.RATE_LIMIT_CREDENTIAL)
    if rate is not None:
        checks.append(("credential", f"rl:c:{tenant.id}:{credential_key(principal)}", rate))
    return checks


async def admit(*, tenant: TenantView, principal: Principal, client_ip: str | None = None) -> None:
    """Count one request; raises ``RateLimited`` when a budget is used up."""
    checks = _checks(tenant, principal)
    if not checks:
        return
    refusal = await _take([(key, rate) for _scope, key, rate in checks])
    if refusal is None:
        _counters["ratelimit.allowed"] += 1
        return
    _counters["ratelimit.refused"] += 1
    scope, key, rate = checks[refusal.index]
    _audit(tenant=tenant, principal=principal, scope=scope, key=key, rate=rate, ip=client_ip)
    raise RateLimited(
        retry_after=max(1, math.ceil(refusal.wait)),
        limit=str(rate),
        scope=scope,
        described=rate.describe(),
    )


async def _take(checks: ratelimit_local.Checks) -> ratelimit_local.Refusal | None:
    backend = get_store().backend
    if not isinstance(backend, RedisBackend):
        return ratelimit_local.take(checks)
    try:
        refusal = await ratelimit_redis.take(backend, checks)
    except _REDIS_DOWN as exc:
        _set_degraded(True, exc)
        _counters["ratelimit.local"] += 1
        return ratelimit_local.take(checks)
    if _state.get("degraded"):
        _set_degraded(False)
    return refusal


def _set_degraded(degraded: bool, exc: BaseException | None = None) -> None:
    with _lock:
        if _state.get("degraded", False) == degraded:
            return
        _state["degraded"] = degraded
    if degraded:
        _counters["ratelimit.degraded"] += 1
        logger.warning(
            "rate limits: Redis unavailable (%s); each process now limits on its own",
            type(exc).__name__,
        )
    else:
        _counters["ratelimit.restored"] += 1
        logger.warning("rate limits: Redis available again; budgets are shared by all instances")


def _audit(
    *, tenant: TenantView, principal: Principal, scope: str, key: str, rate: Rate, ip: str | None
) -> None:
    now = time.monotonic()
    with _lock:
        entry = _audited.get(key)
        if entry is not None and now < entry[0]:
            entry[1] += 1
            return
        if len(_audited) >= _MAX_AUDITED:
            _audited.clear()
        suppressed = int(entry[1]) if entry is not None else 0
        _audited[key] = [now + float(mcp_settings.RATE_LIMIT_AUDIT_INTERVAL), 0]
    details: dict[str, object] = {"scope": scope, "limit": str(rate), "subject": principal.subject}
    if suppressed:
        details["suppressed"] = suppressed
    background.spawn(
        audit_record,
        actor=Actor(name="mcp-client", client_ip=ip),
        action="ratelimit.refused",
        tenant=tenant,
        target=principal.credential_id or principal.subject,
        outcome=AuditLog.Outcome.DENIED,
        details=details,
    )
