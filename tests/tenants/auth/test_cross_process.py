"""A second server process (uvicorn on loopback) holding a credential in its process tier
refuses it within a second of the revocation made here."""

import hashlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django_redis import get_redis_connection

from sessions_store.backends.base import entry_name
from tenants import services
from tenants.auth import tokencache

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[3]


def status_of(url: str, token: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL built by the test
        url, data=b"{}", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture
def second_instance(shared_store, redis_url, free_port) -> Iterator[str]:
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database lives in memory, invisible to another process")
    database = os.environ["TEST_POSTGRES_URL"].rsplit("/", 1)[0] + "/"
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database + connection.settings_dict["NAME"],
        "REDIS_URL": redis_url,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.tenants.auth.echo:application",
         "--host", "127.0.0.1", "--port", str(free_port), "--lifespan", "off",
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", free_port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the second server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{free_port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("kind", ["api_key", "jwt"])
def test_revoked_credential_cached_by_another_process(
    second_instance, make_tenant, make_api_key, make_provider, idp, signing_keys, actor, kind
):
    tenant = make_tenant("acme")
    if kind == "api_key":
        key, raw = make_api_key(tenant)

        def revoke() -> None:
            services.api_key_revoke(key=key, actor=actor)
    else:
        provider = make_provider(tenant, idp)
        raw = idp.token(signing_keys["ES256"], audience=tenant.resource_identifier)

        def revoke() -> None:
            services.identity_provider_set_enabled(provider=provider, enabled=False, actor=actor)

    url = f"{second_instance}/mcp/acme"
    # Until its revocation listener subscribes, a process does not use its process tier.
    for _ in range(10):
        assert status_of(url, raw) == 200
        time.sleep(0.2)
    # Remove the shared copy behind the store's back (no broadcast). The other process still
    # answers 200 and writes nothing back: it serves the credential from its process tier
    # (a full validation would have cached the principal again).
    redis = get_redis_connection("store")
    name = entry_name(tokencache.cache_key(tenant.pk, hashlib.sha256(raw.encode()).hexdigest()))
    assert redis.delete(name) == 1
    assert status_of(url, raw) == 200
    time.sleep(0.3)
    assert not redis.exists(name)
    started = time.monotonic()
    revoke()
    while status_of(url, raw) != 401:
        assert time.monotonic() - started < 1.0, "the revocation took over a second"
        time.sleep(0.02)
