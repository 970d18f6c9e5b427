"""The fleet: PostgreSQL, Redis, a Celery worker, three uvicorn instances started with the
README's production flags, and nginx (the Debian package) balancing round robin across them,
everything on loopback or Unix sockets in one throwaway directory.

Each part can be broken on purpose (an instance killed, Redis frozen or restarted, PostgreSQL
restarted) and mended; ``heal`` brings every part back, so scenarios sharing one fleet leave it
as they found it. Every wait here is bounded. Used by the fleet tests and the soak run
(``python -m tests.fleet.soak``), so nothing here needs pytest to be running.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.interop.instances import ROOT, Cluster
from tests.ports import free_port
from tests.sessions_store.conftest import RedisServer

SIZE = 3
# README, "Production: run uvicorn" (one worker per instance: the fleet has three instances).
PRODUCTION_FLAGS = (
    *("--host", "127.0.0.1", "--loop", "uvloop", "--http", "httptools"),
    *("--lifespan", "off", "--no-access-log", "--log-level", "warning"),
    *("--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"),
)
# Small enough that the idle-stream scenario reaches it with a few hundred streams.
STREAMS_PER_TENANT = 40


def wait_for(predicate: object, *, timeout: float, what: str) -> float:
    """Polls ``predicate`` every 50 ms; returns the seconds it took or raises."""
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def seen_after(predicate: object, *, timeout: float, what: str) -> float:
    """Seconds from now until the start of the first check of ``predicate`` that holds (a
    check itself may take a while on a loaded machine); raises past ``timeout``."""
    started = time.monotonic()
    while True:
        attempt = time.monotonic()
        if predicate():  # type: ignore[operator]
            return attempt - started
        if attempt - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.02)


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise RuntimeError("PostgreSQL is not installed (bin/with-test-services installs it)")
    return Path(pg_ctl).parent


class PostgresServer:
    """A private PostgreSQL on a Unix socket, which a scenario may stop and start again."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.bin = _pg_bin()
        # PostgreSQL refuses to run as root; the Debian package created this user.
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []

    @property
    def url(self) -> str:
        from urllib.parse import quote

        return f"postgres://postgres@{quote(str(self.directory), safe='')}/postgres"

    def _pg(self, *args: str) -> None:
        subprocess.run([*self.as_pg, *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self.directory.chmod(0o755)
        if self.as_pg:
            shutil.chown(self.directory, "postgres")
        initdb = str(self.bin / "initdb")
        self._pg(initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        self.start()

    def start(self) -> None:
        options = f"-k {self.directory} -c listen_addresses='' -c fsync=off -c max_connections=200"
        log = str(self.directory / "server.log")
        self._pg(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", log, "-w", "-o", options,
                 "start")  # fmt: skip

    def stop(self) -> None:
        """Immediate: every connection is cut, as when the database host goes away."""
        self._pg(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream fleet {{
        {servers}
        keepalive 64;
        keepalive_timeout 4s;  # as deploy/nginx/nginx.conf: below uvicorn's 5 s keep-alive
    }}
    server {{
        listen 127.0.0.1:{port};
        # A slow client is nginx's to absorb: the request reaches an instance only when whole.
        client_header_timeout 10s;
        client_body_timeout 5s;
        location / {{
            proxy_pass http://fleet;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # Event streams pass through as they are written.
            proxy_buffering off;
            proxy_read_timeout 300s;
            proxy_connect_timeout 1s;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, directory: Path, upstreams: list[int]) -> None:
        self.directory = directory
        self.port = free_port()
        self.upstreams = upstreams
        self.process: subprocess.Popen[bytes] | None = None
        self.conf = directory / "nginx.conf"

    def _write(self, down: set[int]) -> None:
        servers = "\n        ".join(
            f"server 127.0.0.1:{port} max_fails=1 fail_timeout=2s{' down' if i in down else ''};"
            for i, port in enumerate(self.upstreams)
        )
        self.conf.write_text(NGINX_CONF.format(dir=self.directory, servers=servers, port=self.port))

    def drain(self, down: set[int], *, settle: float = 1.0) -> None:
        """Takes instances ``down`` out of the rotation (a reload: old workers finish what
        they hold), as a deployment does before it stops them; ``set()`` puts all back."""
        assert self.process is not None
        self._write(down)
        self.process.send_signal(signal.SIGHUP)
        time.sleep(settle)

    def start(self) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise RuntimeError("nginx is not installed (bin/with-test-services installs it)")
        self._write(set())
        conf = self.conf
        log = (self.directory / "stderr.log").open("ab")
        self.process = subprocess.Popen(
            [binary, "-p", str(self.directory), "-c", str(conf)], stdout=log, stderr=log
        )
        wait_for(self._listening, timeout=20, what="nginx listening")

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError((self.directory / "stderr.log").read_text())
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


def broker_url(redis_url: str) -> str:
    # kombu names a Redis Unix socket redis+socket:///path
    return "redis+socket://" + redis_url.removeprefix("unix://")


SETUP = """
from tenants import services
from tenants.audit import Actor
actor = Actor.system("fleet")
pair = services.tenant_create(slug="pair", name="Pair", actor=actor,
                              toolsets=["builtin", "conformance", "workspace", "fleet"])
services.tenant_set_rate_limits(tenant=pair, credential_limit="1000000/min", actor=actor)
idle = services.tenant_create(slug="idle", name="Idle", actor=actor, toolsets=["builtin"])
services.identity_provider_create(tenant=pair, issuer={issuer!r}, allow_private_network=True,
                                  actor=actor)
for tenant, name, scopes in ((pair, "pair", ["workspace:read", "workspace:write"]),
                             (pair, "spare", None), (idle, "idle", None)):
    key, raw = services.api_key_create(tenant=tenant, name=name, scopes=scopes, actor=actor)
    print(name, key.public_id, raw)
"""


@dataclass
class Credential:
    key_id: str
    raw: str


class Fleet:
    def __init__(self, directory: Path, *, issuer: str) -> None:
        self.directory = directory
        # PostgreSQL runs as its own user: its directory is one that user may enter.
        self.pg = PostgresServer(Path(tempfile.mkdtemp(prefix="mcp-fleet-pg-")))
        (directory / "redis").mkdir()
        # Persistent (every write synced): a Redis restart keeps what it acknowledged.
        self.redis = RedisServer(directory / "redis", persistent=True)
        self.keys = secrets.token_hex(32)
        self.cluster = Cluster(
            redis_url=self.redis.url,
            tmp_path=directory,
            keys=self.keys,
            size=SIZE,
            database_url=self.pg.url,
            server_flags=PRODUCTION_FLAGS,
        )
        (directory / "nginx").mkdir()
        self.nginx = Nginx(directory / "nginx", self.cluster.ports)
        self.issuer = issuer
        self.worker: subprocess.Popen[bytes] | None = None
        self.credentials: dict[str, Credential] = {}
        overrides = {
            "MCP_SERVER": {
                "TASKS_RUNNER": "celery",
                "TRUSTED_PROXY_COUNT": 1,
                "STREAMS_PER_TENANT": STREAMS_PER_TENANT,
                # Records a killed instance's drainer had read are claimed by another soon.
                "AUDIT_CLAIM_IDLE": 3.0,
                "TOOLSETS": ["builtin", "conformance", "tools.workspace.toolset",
                             "tests.fleet.toolset"],
            }
        }  # fmt: skip
        self.cluster.env.update(
            DJANGO_SETTINGS_MODULE="tests.interop.instance_settings",
            MCP_TEST_OVERRIDES=json.dumps(overrides),
            MCP_PUBLIC_URL=self.base,
            CELERY_BROKER_URL=broker_url(self.redis.url),
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.nginx.port}"

    @property
    def url(self) -> str:
        """The pair tenant's endpoint, through nginx."""
        return f"{self.base}/mcp/pair"

    def instance_url(self, index: int, slug: str = "pair") -> str:
        return f"http://127.0.0.1:{self.cluster.ports[index]}/mcp/{slug}"

    def port_index(self, upstream: str) -> int:
        """The instance behind an ``X-Upstream`` value such as ``127.0.0.1:41234``."""
        # nginx lists every server it tried: the last one answered.
        return self.cluster.ports.index(int(upstream.rsplit(":", 1)[1]))

    def query(self, code: str) -> Any:
        """Runs ``code`` in a management shell; the JSON it prints last, parsed."""
        return json.loads(self.cluster.manage("shell", "-c", code).strip().splitlines()[-1])

    def primed(self, code: str) -> subprocess.Popen[str]:
        """A management shell that has started Django and runs ``code`` when sent a line:
        the change happens at once, not after the seconds a new process takes to start.
        ``communicate(input="\\n")`` sends it."""
        waiting = f"import sys\nsys.stdin.readline()\n{code}"
        return subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", waiting],
            cwd=ROOT, env=self.cluster.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def start(self) -> None:
        self.pg.init()
        self.redis.start()
        self.cluster.manage("migrate", "--noinput", "-v", "0")
        for line in self.cluster.manage("shell", "-c", SETUP.format(issuer=self.issuer)).split(
            "\n"
        ):
            if line.count(" ") == 2:
                name, key_id, raw = line.split(" ")
                self.credentials[name] = Credential(key_id=key_id, raw=raw)
        self.start_worker()
        for index in range(SIZE):
            self.cluster.launch(index)
        for index in range(SIZE):
            self.cluster.wait_ready(index)
        self.nginx.start()

    def start_worker(self) -> None:
        log = (self.directory / "worker.log").open("ab")
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "mcpserver", "worker", "--pool", "solo",
             "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info"],
            cwd=ROOT, env=self.cluster.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def keys_changed(self, keys: str) -> None:
        """Every instance runs on ``keys`` now: so do the commands and the worker."""
        self.cluster.env["MCP_ENCRYPTION_KEYS"] = keys
        self.cluster.keys = [keys] * SIZE
        self.stop_worker()
        self.start_worker()

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.terminate()
            try:
                self.worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait(timeout=10)
            self.worker = None

    def heal(self) -> None:
        """Every part running again: a killed instance restarted, Redis thawed or restarted."""
        if self.redis.process is None:
            self.redis.start()
        else:
            self.redis.thaw()
        for index in range(SIZE):
            if self.cluster.pid(index) is None:
                self.cluster.launch(index)
        for index in range(SIZE):
            self.cluster.wait_ready(index)

    def stop(self) -> None:
        self.nginx.stop()
        self.cluster.stop_all()
        self.stop_worker()
        self.redis.stop()
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.pg.stop()
        shutil.rmtree(self.pg.directory, ignore_errors=True)
