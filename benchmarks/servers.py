"""What the benchmarks start and share: the throwaway database and Redis, the seeded tenant,
the servers' settings, the commands the servers run under, and waiting for them to listen."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from benchmarks import wrk

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
UVICORN = [PY, "-m", "uvicorn", "--loop", "uvloop", "--http", "httptools"]
UVICORN += ["--log-level", "warning", "--no-access-log"]
DAPHNE = [PY, "-m", "daphne", "-v", "0"]

PUBLIC_URL = "http://127.0.0.1:8000"
BARE = "benchmarks.reference_apps:bare"
# What compose.yaml and the Kubernetes ConfigMap set: tool-call records are moved to the
# database by ``drain_audit --follow`` processes of their own (measured after the rounds).
PRODUCTION: dict[str, object] = {"AUDIT_DRAIN_IN_PROCESS": False}


SEED_REQUIREMENTS = """
from tenants.audit import Actor
from tenants.models import Tenant
from tools.workspace.services import requirement_create
tenant = Tenant.objects.get(slug="bench")
for n in range(20):
    requirement_create(tenant_id=tenant.pk, title=f"Requirement {n}", description="x" * 200,
                       repositories=["bench/api", "bench/web"], created_by="bench",
                       actor=Actor.system("bench"))
"""


# Each credential authenticated once by the servers' own code (from Redis if a server already
# cached it, validated and cached there otherwise), then its entry's size as Redis counts it.
PRINCIPAL_BYTES = """
import asyncio, hashlib, json, sys
from sessions_store.backends.base import entry_name
from sessions_store.store import get_store
from tenants.auth import background, tenantcache
from tenants.auth.authenticator import authenticate
from tenants.auth.tokencache import cache_key

async def cached(credential):
    config = await tenantcache.resolve("bench")
    await authenticate(config, f"Bearer {credential}")
    await background.drain()
    digest = hashlib.sha256(credential.encode()).hexdigest()
    return entry_name(cache_key(config.tenant.pk, digest))

client = get_store().backend.client
sizes = {}
for label, credential in json.load(sys.stdin).items():
    sizes[label] = client.memory_usage(asyncio.run(cached(credential)), samples=0)
print(json.dumps(sizes))
"""


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """``manage.py`` of this checkout with the servers' settings; its standard output."""
    done = subprocess.run(  # noqa: S603
        [PY, "manage.py", *args], cwd=ROOT, env=env, input=stdin, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    return done.stdout


def cached_principal_bytes(env: dict[str, str], credentials: dict[str, str]) -> dict[str, int]:
    """Redis bytes of the entry that caches each credential's principal (``MEMORY USAGE``:
    value, key and Redis's own overhead); empty without Redis."""
    if not env.get("REDIS_URL"):
        return {}
    out = manage(env, "shell", "-v", "0", "-c", PRINCIPAL_BYTES, stdin=json.dumps(credentials))
    sizes: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return sizes


def prepare(env: dict[str, str], issuer: str) -> str:
    manage(env, "migrate", "--noinput", "-v", "0")
    toolsets = "builtin,bench-by-hand,workspace"
    manage(env, "create_tenant", "bench", "--name", "Bench", "--toolsets", toolsets)
    # A workspace read worth measuring: a page of 20 requirements with their repositories.
    manage(env, "shell", "-v", "0", "-c", SEED_REQUIREMENTS)
    # Serving is measured, not refusing: the default per-credential limit would turn most of
    # the load into 429s (its own cost is in the README, "Rate limits").
    manage(env, "set_rate_limit", "bench", "--credential", "off")
    manage(env, "add_identity_provider", "bench", "--issuer", issuer, "--allow-private")
    scopes = ("--scopes", "workspace:read")
    created = manage(env, "create_api_key", "bench", "--name", "bench", *scopes)
    return created.strip().splitlines()[-1]


def database_url(work: Path) -> tuple[str, str]:
    """A fresh database on ``BENCH_POSTGRES_URL``'s server (or SQLite in ``work``), and its
    engine's name for the report."""
    server = os.environ.get("BENCH_POSTGRES_URL")
    if not server:
        return f"sqlite:///{work}/db.sqlite3", "SQLite"
    import psycopg

    name = f"bench_{secrets.token_hex(4)}"
    url = urlsplit(server)
    with psycopg.connect(urlunsplit(url._replace(path="/postgres")), autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")  # a fresh name of hex digits
    return urlunsplit(url._replace(path=f"/{name}")), "PostgreSQL"


def environment(database: str) -> dict[str, str]:
    """The servers' settings: production mode, fresh keys, the shared store unset until
    ``start_redis`` sets it."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "MCP_ENCRYPTION_KEYS": secrets.token_hex(32),
        "DATABASE_URL": database,
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
        "MCP_PUBLIC_URL": PUBLIC_URL,
    }


def wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server exited early: {process.args!r}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"a server did not start: {process.args!r}")


def start_redis(work: Path, env: dict[str, str]) -> subprocess.Popen[bytes] | None:
    redis_server = shutil.which("redis-server")
    if not redis_server:
        return None
    # The production shape: shared store, caches and Channels layer on Redis.
    sock = work / "redis.sock"
    command = [wrk.require("taskset"), "-c", "1", redis_server, "--port", "0", "--save", ""]
    process = subprocess.Popen(  # noqa: S603
        [*command, "--unixsocket", str(sock)],
        stdout=subprocess.DEVNULL,
        cwd=work,
    )
    for _ in range(50):
        if sock.exists():
            break
        time.sleep(0.1)
    env["REDIS_URL"] = f"unix://{sock}"
    return process


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=10)
    processes.clear()
