"""A revoked API key is refused by every instance once Redis answers, whatever Redis did.

The revocation is acknowledged while Redis cannot take it: hung (SIGSTOP), or dead and then
restarted from a snapshot that still holds the key's cached principal. The command that
revoked exits, and whatever it held for retry with it; the database remembers.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx2
import pytest
import redis

from mcpserver.conf import DEFAULTS
from tests.interop.faults import entries, modern_call, redis_server, wait_until
from tests.interop.instances import Instances, server_instances
from tests.sessions_store.conftest import RedisServer

# Servers on a database of their own: the result does not depend on the suite's database,
# so the PostgreSQL pass skips them (make test runs them once).
pytestmark = pytest.mark.own_database


__all__ = ["redis_server"]

# Generous for a loaded machine: the bound the server keeps is REVOCATION_CHECK_INTERVAL
# (0.5 s); before the ledger the key stayed accepted for the rest of AUTH_CACHE_TTL (300 s).
DEADLINE = 15.0


def _warm(http: httpx2.Client, instances: Instances, server: RedisServer) -> None:
    for url in instances.urls:
        for _ in range(3):
            assert modern_call(http, url, instances.key).status_code == 200
    # The cached principal and the tenant's configuration have reached Redis.
    wait_until(lambda: entries(server) >= 2, timeout=DEADLINE, what="entries cached in Redis")


def _refused_everywhere(http: httpx2.Client, instances: Instances) -> float:
    def refused() -> bool:
        return all(
            modern_call(http, url, instances.key).status_code == 401 for url in instances.urls
        )

    return wait_until(refused, timeout=DEADLINE, what="the revoked key refused everywhere")


def _revoke(instances: Instances) -> str:
    done = instances.manage("revoke_api_key", instances.key_id, check=False)
    assert done.returncode == 0, done.stderr
    assert "revoked" in done.stdout
    return done.stderr


def test_a_key_revoked_while_redis_hangs_stays_revoked(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with (
        server_instances(redis_url=redis_server.url, tmp_path=tmp_path) as instances,
        httpx2.Client(timeout=30) as http,
    ):
        _warm(http, instances, redis_server)
        redis_server.freeze()
        try:
            stderr = _revoke(instances)
        finally:
            redis_server.thaw()
        assert "Redis could not be reached" in stderr
        interval = DEFAULTS["REVOCATION_CHECK_INTERVAL"]
        assert f"in force on every instance within {interval} s" in stderr
        took = _refused_everywhere(http, instances)
        print(f"refused on both instances {took:.2f} s after Redis answered again")
        time.sleep(1.5)  # and it stays refused
        for url in instances.urls:
            assert modern_call(http, url, instances.key).status_code == 401


def test_a_key_revoked_while_redis_is_down_stays_revoked_after_a_snapshot_restore(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with (
        server_instances(redis_url=redis_server.url, tmp_path=tmp_path) as instances,
        httpx2.Client(timeout=30) as http,
    ):
        _warm(http, instances, redis_server)
        redis.Redis.from_url(redis_server.url).save()
        redis_server.kill()
        stderr = _revoke(instances)
        assert "Redis could not be reached" in stderr
        redis_server.start()
        assert entries(redis_server) >= 2  # the snapshot brought the cached principal back
        took = _refused_everywhere(http, instances)
        print(f"refused on both instances {took:.2f} s after Redis restarted")
