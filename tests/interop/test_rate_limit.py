"""Rate limits across real server processes: one budget for the fleet while Redis answers,
one per process while it does not, and a Retry-After a client can trust."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import redis

from tests.interop.faults import modern_call, redis_server, wait_until
from tests.interop.instances import Cluster, server_instances
from tests.sessions_store.conftest import RedisServer

# Servers on a database of their own: the result does not depend on the suite's database,
# so the PostgreSQL pass skips them (make test runs them once).
pytestmark = pytest.mark.own_database

__all__ = ["redis_server"]


def _cluster(redis_url: str, tmp_path: Path, *limit: str) -> Iterator[tuple[list[str], str]]:
    # Budgets of earlier runs on this Redis would belong to tenants with the same ids.
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match="rl:*"):
        client.delete(key)
    cluster = Cluster(redis_url=redis_url, tmp_path=tmp_path, keys=secrets.token_hex(32))
    cluster.migrate(with_pair=True)
    key = (
        cluster.manage_all(
            ("create_api_key", "pair", "--name", "pair"), ("set_rate_limit", "pair", *limit)
        )[0]
        .strip()
        .splitlines()[-1]
    )
    try:
        cluster.start_all()
        yield cluster.urls, key
    finally:
        cluster.stop_all()


@pytest.fixture
def six_a_minute(redis_url: str, tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    yield from _cluster(redis_url, tmp_path, "--credential", "6/min")


@pytest.fixture
def thirty_a_minute(redis_url: str, tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    yield from _cluster(redis_url, tmp_path, "--tenant", "30/min", "--credential", "off")


@pytest.mark.parametrize("first", [0, 1])
def test_two_instances_share_one_budget(six_a_minute: tuple[list[str], str], first: int) -> None:
    urls, key = six_a_minute
    statuses = []
    with httpx2.Client(timeout=10) as http:
        for turn in range(8):
            statuses.append(modern_call(http, urls[(first + turn) % 2], key).status_code)
        # Both instances now refuse: the budget is the fleet's, not one process's.
        later = [modern_call(http, url, key) for url in urls]
    assert statuses == [200] * 6 + [429, 429]
    assert [r.status_code for r in later] == [429, 429]
    error = later[0].json()["error"]
    assert error["data"]["scope"] == "credential" and error["data"]["limit"] == "6/min"
    assert 1 <= int(later[0].headers["retry-after"]) <= 10  # one request every 10 s


def test_retry_after_holds_on_either_instance(thirty_a_minute: tuple[list[str], str]) -> None:
    urls, key = thirty_a_minute
    with httpx2.Client(timeout=10) as http:
        passed = 0
        while (response := modern_call(http, urls[passed % 2], key)).status_code == 200:
            passed += 1
            assert passed <= 30
        refused_at = time.monotonic()
        assert passed == 30 and response.status_code == 429
        retry_after = int(response.headers["retry-after"])
        assert response.json()["error"]["data"]["scope"] == "tenant"
        assert 1 <= retry_after <= 2  # one request every 2 s once the burst of 30 is spent
        if retry_after == 2:  # (1 only if sending the burst itself took over a second)
            time.sleep(1.0)
            assert modern_call(http, urls[1], key).status_code == 429  # before it: refused
        time.sleep(max(0.0, refused_at + retry_after - time.monotonic()))
        assert modern_call(http, urls[1], key).status_code == 200  # waited it out: passes
        assert modern_call(http, urls[0], key).status_code == 429  # and that used it up


def test_a_frozen_redis_leaves_each_instance_its_own_budget(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with server_instances(redis_url=redis_server.url, tmp_path=tmp_path) as instances:
        instances.manage("set_rate_limit", "pair", "--credential", "3/min")
        with httpx2.Client(timeout=10) as http:
            for url in instances.urls:  # the new limit reaches both, and they are warm
                wait_until(
                    lambda url=url: modern_call(http, url, instances.key).status_code == 200,
                    timeout=10,
                    what="the instance serving",
                )
            # Shared while Redis answers: the third request of the minute is the last.
            third = modern_call(http, instances.urls[0], instances.key)
            assert third.status_code == 200
            assert modern_call(http, instances.urls[1], instances.key).status_code == 429
            redis_server.freeze()
            try:
                started = time.monotonic()
                by_instance = [
                    [modern_call(http, url, instances.key).status_code for _ in range(5)]
                    for url in instances.urls
                ]
                took = time.monotonic() - started
            finally:
                redis_server.thaw()
    # Still served without Redis, and still limited: each process counts on its own.
    assert by_instance == [[200, 200, 200, 429, 429]] * 2
    assert took < 8, took
    for index in range(2):  # said once per process, not once per request
        log = (tmp_path / f"instance-{index}.log").read_text()
        assert log.count("each process now limits on its own") == 1, log
