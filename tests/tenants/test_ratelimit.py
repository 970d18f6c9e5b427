"""The limiter itself: the rate grammar, GCRA in this process and in a real Redis, and what
happens to the limits when Redis stops or hangs."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.test import override_settings

from mcpserver.errors import RateLimited
from sessions_store.cache_config import store_cache
from tenants import ratelimit
from tenants.auth import background
from tenants.models import AuditLog, Tenant
from tenants.principal import AuthMethod, Principal
from tenants.ratelimit_rates import Rate, parse_rate
from tenants.snapshots import TenantView
from tests.sessions_store.conftest import (
    RedisServer,
    _without_store_alias,
    private_redis,
    wait_for,
)

pytestmark = pytest.mark.django_db
__all__ = ["private_redis"]


def view(tenant: Tenant, *, limit: str = "", per_credential: str = "off") -> TenantView:
    return TenantView(
        id=tenant.pk,
        slug=tenant.slug,
        name=tenant.name,
        status=tenant.status,
        enabled_toolsets=(),
        rate_limit_tenant=limit,
        rate_limit_credential=per_credential,
    )


def principal(
    tenant: Tenant, name: str = "a", method: AuthMethod = AuthMethod.API_KEY
) -> Principal:
    return Principal(
        tenant_id=tenant.pk,
        tenant_slug=tenant.slug,
        subject=f"user-{name}",
        auth_method=method,
        fingerprint=f"{name}-fingerprint",
        credential_id=f"ak_{name}_public" if method is AuthMethod.API_KEY else "https://idp",
    )


def admit(tenant: TenantView, who: Principal) -> RateLimited | None:
    """One request; the refusal, or None if it passed."""

    async def run() -> RateLimited | None:
        try:
            await ratelimit.admit(tenant=tenant, principal=who, client_ip="192.0.2.7")
        except RateLimited as exc:
            return exc
        finally:
            await background.drain()
        return None

    return async_to_sync(run)()


def passed(tenant: TenantView, who: Principal, count: int) -> int:
    """How many of ``count`` requests in a row passed."""
    return sum(admit(tenant, who) is None for _ in range(count))


@pytest.fixture
def shared_redis(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    with override_settings(CACHES={**_without_store_alias(), "store": store_cache(redis_url)}):
        yield client


@pytest.fixture
def private_store(private_redis: RedisServer) -> Iterator[RedisServer]:
    caches = {**_without_store_alias(), "store": store_cache(private_redis.url)}
    with override_settings(CACHES=caches):
        yield private_redis


# --- the grammar ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rate", "described"),
    [
        ("2/s", Rate(2, 1), "2 requests per second"),
        ("100/min", Rate(100, 60), "100 requests per minute"),
        ("1/h", Rate(1, 3600), "1 request per hour"),
        ("5000/day", Rate(5000, 86400), "5000 requests per day"),
    ],
)
def test_rates_read_as_written(text: str, rate: Rate, described: str) -> None:
    assert parse_rate(text) == rate
    assert str(rate) == text and rate.describe() == described


@pytest.mark.parametrize(
    "text", ["0/s", "2/week", "two/s", "2/S", "2 / s", "", "-1/s", "2/", "/s", "99999999999/s"]
)
def test_malformed_rates_are_refused_with_the_grammar(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_rate(text)
    assert "N/PERIOD" in caught.value.messages[0] or "between 1 and" in caught.value.messages[0]


# --- in this process (no Redis configured) ----------------------------------------------------


def test_a_burst_of_n_passes_then_the_next_is_refused(tenant: Tenant) -> None:
    limited = view(tenant, per_credential="3/min")
    assert passed(limited, principal(tenant), 3) == 3
    refusal = admit(limited, principal(tenant))
    assert refusal is not None
    # 3/min sustains one request every 20 s: that is how long until the next one passes.
    assert refusal.retry_after == 20
    assert refusal.data == {"retryAfter": 20, "limit": "3/min", "scope": "credential"}
    assert "credential (3 requests per minute); retry in 20 s" in refusal.message
    assert admit(limited, principal(tenant, "b")) is None  # another credential has its own


def test_no_limit_means_no_refusal(tenant: Tenant) -> None:
    unlimited = view(tenant, limit="off", per_credential="off")
    assert passed(unlimited, principal(tenant), 200) == 200


def test_a_blank_setting_follows_the_server_default(tenant: Tenant, settings: Any) -> None:
    settings.MCP_SERVER = {**settings.MCP_SERVER, "RATE_LIMIT_CREDENTIAL": "2/h"}
    assert passed(view(tenant, per_credential=""), principal(tenant), 5) == 2


# --- shared in Redis --------------------------------------------------------------------------


def test_the_budget_lives_in_redis_not_in_the_process(
    tenant: Tenant, shared_redis: redis.Redis
) -> None:
    limited = view(tenant, per_credential="3/min")
    assert passed(limited, principal(tenant), 3) == 3
    # A fresh process (nothing of this one's state kept) finds the budget used up.
    from mcpserver.process import process_state

    process_state.reset()
    refusal = admit(limited, principal(tenant))
    assert refusal is not None and 19 <= refusal.retry_after <= 20
    keys = [key.decode() if isinstance(key, bytes) else key for key in shared_redis.keys("rl:*")]
    assert len(keys) == 1 and keys[0].startswith(f"rl:c:{tenant.pk}:")
    # The credential is named by a hash, never by its id, subject or anything it carries.
    assert "ak_a" not in keys[0] and "user-a" not in keys[0]
    assert 0 < shared_redis.pttl(keys[0]) <= 60_000
    assert ratelimit.counters()["ratelimit.degraded_now"] == 0


def test_a_jwt_subject_keeps_its_budget_across_renewed_tokens(
    tenant: Tenant, shared_redis: redis.Redis
) -> None:
    limited = view(tenant, per_credential="2/min")
    first = principal(tenant, "sso", AuthMethod.JWT)
    renewed = dataclasses.replace(first, fingerprint="another-token")
    assert admit(limited, first) is None and admit(limited, first) is None
    assert admit(limited, renewed) is not None


def test_the_tenant_budget_covers_all_its_credentials(
    tenant: Tenant, shared_redis: redis.Redis
) -> None:
    limited = view(tenant, limit="3/min", per_credential="off")
    assert admit(limited, principal(tenant, "a")) is None
    assert admit(limited, principal(tenant, "b")) is None
    assert admit(limited, principal(tenant, "c")) is None
    refusal = admit(limited, principal(tenant, "d"))
    assert refusal is not None and refusal.data["scope"] == "tenant"
    assert "for this tenant" in refusal.message


def test_a_credential_refused_spends_nothing_of_the_tenant_budget(
    tenant: Tenant, shared_redis: redis.Redis
) -> None:
    limited = view(tenant, limit="3/min", per_credential="1/min")
    assert admit(limited, principal(tenant, "a")) is None
    for _ in range(5):
        refusal = admit(limited, principal(tenant, "a"))
        assert refusal is not None and refusal.data["scope"] == "credential"
    assert admit(limited, principal(tenant, "b")) is None
    assert admit(limited, principal(tenant, "c")) is None
    refusal = admit(limited, principal(tenant, "d"))
    assert refusal is not None and refusal.data["scope"] == "tenant"


def test_retry_after_is_right_to_the_second(tenant: Tenant, shared_redis: redis.Redis) -> None:
    limited = view(tenant, per_credential="30/min")  # one every 2 s once the burst is spent
    assert passed(limited, principal(tenant), 30) == 30
    refusal = admit(limited, principal(tenant))
    assert refusal is not None and refusal.retry_after == 2
    refused_at = time.monotonic()
    time.sleep(1.2)
    assert admit(limited, principal(tenant)) is not None  # before Retry-After: still refused
    time.sleep(max(0.0, refused_at + refusal.retry_after - time.monotonic()))
    assert admit(limited, principal(tenant)) is None  # waited it out: passes


# The audit write runs through database_sync_to_async, which closes the connection it finds:
# inside a test transaction that is the test's own (PostgreSQL then refuses the write).
@pytest.mark.django_db(transaction=True)
def test_refusals_are_audited_sparingly(tenant: Tenant, shared_redis: redis.Redis) -> None:
    limited = view(tenant, per_credential="1/min")
    assert admit(limited, principal(tenant)) is None
    for _ in range(20):
        assert admit(limited, principal(tenant)) is not None
    records = AuditLog.objects.filter(action="ratelimit.refused")
    assert records.count() == 1
    record = records.get()
    assert record.outcome == AuditLog.Outcome.DENIED and record.target == "ak_a_public"
    assert record.details["limit"] == "1/min" and record.client_ip == "192.0.2.7"


# --- Redis stopped or hung --------------------------------------------------------------------


def _degraded_lines(caplog: pytest.LogCaptureFixture) -> int:
    return sum("each process now limits on its own" in r.getMessage() for r in caplog.records)


def test_a_stopped_redis_leaves_the_limit_to_each_process(
    tenant: Tenant, private_store: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tenants.ratelimit")
    limited = view(tenant, per_credential="3/min")
    assert passed(limited, principal(tenant), 2) == 2  # in Redis
    private_store.stop()
    # Requests are still served, and limited: this process now counts on its own.
    assert passed(limited, principal(tenant), 10) == 3
    counters = ratelimit.counters()
    assert counters["ratelimit.degraded"] == 1 and counters["ratelimit.degraded_now"] == 1
    assert counters["ratelimit.local"] == 10
    assert _degraded_lines(caplog) == 1  # one line for the transition, not one per request

    private_store.start()  # empty: no snapshot was saved
    wait_for(lambda: admit(limited, principal(tenant, "b")) is None and not _still_local())
    assert ratelimit.counters()["ratelimit.restored"] == 1
    assert any("available again" in r.getMessage() for r in caplog.records)
    assert passed(limited, principal(tenant, "c"), 5) == 3  # shared again, a fresh budget


def _still_local() -> bool:
    return bool(ratelimit.counters()["ratelimit.degraded_now"])


def test_a_hung_redis_costs_one_timeout_then_nothing(
    tenant: Tenant, private_store: RedisServer
) -> None:
    limited = view(tenant, per_credential="5/min")
    assert admit(limited, principal(tenant)) is None
    private_store.freeze()
    try:
        started = time.monotonic()
        assert admit(limited, principal(tenant)) is None
        first = time.monotonic() - started
        started = time.monotonic()
        results = [admit(limited, principal(tenant)) for _ in range(10)]
        rest = time.monotonic() - started
    finally:
        private_store.thaw()
    assert first < 1.5, first  # the store's 0.5 s socket timeout, once
    assert rest < 1.0, rest  # then the breaker answers at once
    assert sum(r is None for r in results) == 4 and ratelimit.counters()["ratelimit.degraded"] == 1
