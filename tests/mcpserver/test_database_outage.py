"""PostgreSQL stops under a running server (daphne), then comes back.

While it is down: what needs the database is answered 503 with Retry-After and a JSON body
(a new API key, a tenant the caches do not know, the RFC 9728 metadata document), and a
credential validated before the stop keeps working from the shared store. Once PostgreSQL is
back, everything answers as before, without restarting the server.
"""

import hashlib
import json
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from sessions_store.backends.base import entry_name
from tests.mcpserver.conftest import ROOT, Served, base_env
from tests.sessions_store.conftest import RedisServer, wait_for

# Servers on a database of their own: the result does not depend on the suite's database,
# so the PostgreSQL pass skips them (make test runs them once).
pytestmark = pytest.mark.own_database


MODERN = "2026-07-28"


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def call(
    method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes, float]:
    """Status, headers, body, and how long the answer took."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            status, head, payload = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, head, payload = error.code, dict(error.headers), error.read()
    return status, {k.lower(): v for k, v in head.items()}, payload, time.monotonic() - started


def tools_list(base: str, slug: str, key: str) -> tuple[int, dict[str, str], bytes, float]:
    return rpc(base, slug, key, "tools/list", {})


def rpc(
    base: str, slug: str, key: str, method: str, params: dict[str, Any]
) -> tuple[int, dict[str, str], bytes, float]:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta}}
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "Authorization": f"Bearer {key}",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": method,
    }
    if "name" in params:
        headers["Mcp-Name"] = params["name"]
    return call("POST", f"{base}/mcp/{slug}", body=json.dumps(body).encode(), headers=headers)


def assert_unavailable(answer: tuple[int, dict[str, str], bytes, float]) -> None:
    status, headers, body, _ = answer
    assert status == 503, body
    assert int(headers["retry-after"]) > 0
    assert headers["content-type"].startswith("application/json")
    document = json.loads(body)
    assert document["error"] == "temporarily_unavailable"
    assert document["error_description"]


def test_a_postgres_outage_is_503_and_cached_credentials_keep_working(
    tmp_path,
    postgres,
    private_redis,
    daphne: Callable[..., Served],
):
    env = base_env(
        tmp_path,
        DATABASE_URL=postgres.url,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(40),
        MCP_ENCRYPTION_KEYS=secrets.token_hex(32),
        LOG_LEVEL="CRITICAL",  # the server's stderr is a pipe nobody reads
    )
    env["REDIS_URL"] = private_redis.url  # base_env leaves Redis out

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""

    manage("migrate", "--noinput", "-v", "0")
    manage("create_tenant", "acme", "--name", "Acme", "--toolsets", "builtin,workspace")
    used = manage("create_api_key", "acme", "--name", "used", "--scopes", "workspace:read")
    fresh = manage("create_api_key", "acme", "--name", "fresh")
    base = daphne(env).base
    metadata = f"{base}/.well-known/oauth-protected-resource/mcp/acme"

    assert tools_list(base, "acme", used)[0] == 200
    assert call("GET", metadata)[0] == 200
    # The principal and the tenant's configuration are cached in Redis in the background.
    cached = [
        entry_name("authcfg:acme"),
        entry_name(f"auth:1:{hashlib.sha256(used.encode()).hexdigest()}"),
    ]
    client = redis.Redis(unix_socket_path=str(private_redis.socket))
    wait_for(lambda: all(client.exists(name) for name in cached), timeout=30)

    postgres.stop(mode="fast")
    waits = []
    try:
        new_key = tools_list(base, "acme", fresh)
        assert_unavailable(new_key)
        unknown = tools_list(base, "nobody", fresh)
        assert_unavailable(unknown)  # the database cannot say it is unknown: not a 404
        document = call("GET", metadata, headers={"Accept": "application/json"})
        assert_unavailable(document)
        readiness = call("GET", f"{base}/readyz")
        assert readiness[0] == 503 and b'"failing": ["database"]' in readiness[2]
        cached_key = tools_list(base, "acme", used)
        assert cached_key[0] == 200, cached_key[2]
        assert "tools" in json.loads(cached_key[2])["result"]
        # A tool that needs the database: "not now" and when to retry, not "the tool failed".
        reading = rpc(base, "acme", used, "tools/call", {"name": "list_requirements"})
        assert reading[0] == 503 and int(reading[1]["retry-after"]) > 0, reading[2]
        assert json.loads(reading[2])["error"] == {
            "code": -32603,
            "message": "The database is unavailable right now; try again shortly.",
        }
        waits = [
            answer[3] for answer in (new_key, unknown, document, readiness, cached_key, reading)
        ]
        print(f"longest wait during the outage: {max(waits):.3f} s")
    finally:
        postgres.start()

    # Back: the same server answers as before.
    assert tools_list(base, "acme", fresh)[0] == 200
    assert tools_list(base, "nobody", fresh)[0] == 404
    assert call("GET", metadata)[0] == 200
    assert call("GET", f"{base}/readyz")[0] == 200
    assert max(waits) < 30  # never a hang (generous: a loaded 2-core machine)
