"""The fleet: PostgreSQL, Redis, a Celery worker, three uvicorn instances started with the
README's production flags, and nginx (the Debian package) balancing round robin across them,
everything on loopback or Unix sockets in one throwaway directory.

Each part can be broken on purpose (an instance killed, Redis frozen or restarted, PostgreSQL
restarted) and mended; ``heal`` brings every part back, so scenarios sharing one fleet leave it
as they found it. Every wait here is bounded. Used by the fleet tests and the soak run
(``python -m tests.fleet.soak``), so nothing here needs pytest to be running.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fleet.services import Nginx, PostgresServer
from tests.interop.instances import ROOT, Cluster
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
        self.pg.remove()
