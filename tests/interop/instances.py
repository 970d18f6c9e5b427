"""Real server processes sharing one database and one Redis, each startable and restartable
with its own environment (a key rotation runs instances on different key lists)."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.databases import PAIR, seed_sqlite
from tests.ports import free_port as _free_port

ROOT = Path(__file__).resolve().parents[2]


# What every instance runs besides its port: the plain server by default; the fleet passes
# the README's production flags (tests/fleet/harness.py).
PLAIN_FLAGS = ("--lifespan", "off", "--log-level", "warning")


class Cluster:
    def __init__(
        self,
        *,
        redis_url: str,
        tmp_path: Path,
        keys: str,
        size: int = 2,
        database_url: str | None = None,
        server_flags: tuple[str, ...] = PLAIN_FLAGS,
    ) -> None:
        self.server_flags = server_flags
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "mcpserver.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "MCP_ENCRYPTION_KEYS": keys,
            "DATABASE_URL": database_url or f"sqlite:///{tmp_path}/db.sqlite3",
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
            # The pair tenant gets the conformance fixture set.
            "MCP_ALLOW_INTERNAL_TOOLSETS": "1",
        }
        self.logs = tmp_path
        self.ports = [_free_port() for _ in range(size)]
        self.keys = [keys] * size
        self._servers: list[subprocess.Popen[bytes] | None] = [None] * size

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}/mcp/pair" for port in self.ports]

    def manage(self, *args: str, keys: str | None = None, check: bool = True) -> str:
        env = {**self.env, **({"MCP_ENCRYPTION_KEYS": keys} if keys else {})}
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and done.returncode != 0:
            pytest.fail(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout if check else f"{done.returncode}\n{done.stdout}{done.stderr}"

    def manage_all(self, *commands: tuple[str, ...]) -> list[str]:
        """Runs management commands one after another in one process (a new process costs
        seconds of start-up); returns what each printed."""
        script = (
            "import io, json\n"
            "from django.core.management import call_command\n"
            "printed = []\n"
            f"for args in {[list(c) for c in commands]!r}:\n"
            "    out = io.StringIO()\n"
            "    call_command(*args, stdout=out)\n"
            "    printed.append(out.getvalue())\n"
            "print(json.dumps(printed))\n"
        )
        printed: list[str] = json.loads(self.manage("shell", "-c", script).strip().splitlines()[-1])
        return printed

    @contextmanager
    def console(self) -> Iterator[Console]:
        """A management process that stays up and runs the commands sent to it."""
        console = Console(self.env)
        try:
            yield console
        finally:
            console.close()

    def migrate(self, *, with_pair: bool = False) -> None:
        """The database as ``migrate`` (and ``create_tenant pair``) would leave it: a copy of a
        template on SQLite (tests/databases.py), the command itself on PostgreSQL."""
        if self.env["DATABASE_URL"].startswith("sqlite:///"):
            seed_sqlite(self.env["DATABASE_URL"], template=PAIR if with_pair else "schema")
            return
        self.manage("migrate", "--noinput", "-v", "0")
        if with_pair:
            self.manage(
                "create_tenant", "pair", "--name", "Pair", "--toolsets", "builtin,conformance"
            )

    def setup_tenant(self) -> str:
        """Migrates, creates the ``pair`` tenant and returns a raw API key for it."""
        self.migrate(with_pair=True)
        return self.manage("create_api_key", "pair", "--name", "pair").strip().splitlines()[-1]

    def log_of(self, index: int) -> str:
        return (self.logs / f"instance-{index}.log").read_text()

    def start(self, index: int, *, keys: str | None = None) -> None:
        self.launch(index, keys=keys)
        self.wait_ready(index)

    def launch(self, index: int, *, keys: str | None = None) -> None:
        """Starts instance ``index`` without waiting for it (``wait_ready`` waits)."""
        self.keys[index] = keys or self.keys[index]
        port = self.ports[index]
        with (self.logs / f"instance-{index}.log").open("ab") as log:
            self._servers[index] = subprocess.Popen(
                [
                    *(sys.executable, "-m", "uvicorn", "--port", str(port), *self.server_flags),
                    "mcpserver.asgi:application",
                ],
                cwd=ROOT,
                env={**self.env, "MCP_ENCRYPTION_KEYS": self.keys[index]},
                stdout=log,
                stderr=log,
            )

    def wait_ready(self, index: int, *, timeout: float = 60) -> None:
        port = self.ports[index]
        deadline = time.monotonic() + timeout
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return
            if time.monotonic() > deadline or self._servers[index].poll() is not None:  # type: ignore[union-attr]
                pytest.fail(f"instance {index} did not start:\n{self.log_of(index)}")
            time.sleep(0.1)

    def pid(self, index: int) -> int | None:
        server = self._servers[index]
        return None if server is None else server.pid

    def stop(self, index: int) -> None:
        server = self._servers[index]
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
            self._servers[index] = None

    def kill(self, index: int) -> None:
        """SIGKILL: no shutdown, nothing flushed; what the process held in memory is gone."""
        server = self._servers[index]
        if server is not None:
            server.kill()
            server.wait(timeout=30)
            self._servers[index] = None

    def restart(self, index: int, *, keys: str) -> None:
        self.stop(index)
        self.start(index, keys=keys)

    def start_all(self) -> None:
        """Starts every instance at once: their seconds of start-up overlap."""
        for index in range(len(self._servers)):
            self.launch(index)
        for index in range(len(self._servers)):
            self.wait_ready(index)

    def stop_all(self) -> None:
        for server in self._servers:
            if server is not None:
                server.terminate()
        for index in range(len(self._servers)):
            self.stop(index)


_CONSOLE = """
import io, json, sys
from django.core.management import call_command
from django.db import close_old_connections
for line in sys.stdin:
    close_old_connections()  # a connection the database dropped since is replaced
    out = io.StringIO()
    try:
        call_command(*json.loads(line), stdout=out)
        reply = {"ok": True, "out": out.getvalue()}
    except Exception as exc:
        reply = {"ok": False, "out": out.getvalue() + type(exc).__name__ + ": " + str(exc)}
    sys.stdout.write("\\x1e" + json.dumps(reply) + "\\n")
    sys.stdout.flush()
"""


class Console:
    """One ``manage.py shell`` that runs management commands sent to it, for tests that ask
    the database many times over (a new process costs seconds of start-up each time)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", _CONSOLE],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    def run(self, *args: str) -> str:
        """What the command printed; the test fails if it raised."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(args) + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith("\x1e"):
                reply = json.loads(line[1:])
                if not reply["ok"]:
                    pytest.fail(f"manage.py {' '.join(args)} failed: {reply['out']}")
                return str(reply["out"])
        pytest.fail(f"the console exited running manage.py {' '.join(args)}")

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Instances:
    """Running instances of a ``Cluster`` on one key list, and the ``pair`` tenant's key."""

    urls: list[str]
    key: str
    key_id: str
    env: dict[str, str] = field(repr=False)

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )


@contextmanager
def server_instances(*, redis_url: str, tmp_path: Path, count: int = 2) -> Iterator[Instances]:
    cluster = Cluster(
        redis_url=redis_url, tmp_path=tmp_path, keys=secrets.token_hex(32), size=count
    )
    cluster.migrate(with_pair=True)
    created = cluster.manage("create_api_key", "pair", "--name", "pair")
    found = re.search(r"\b(ak_\w+)", created)
    assert found, created
    try:
        cluster.start_all()
        yield Instances(
            urls=cluster.urls,
            key=created.strip().splitlines()[-1],
            key_id=found.group(1),
            env=cluster.env,
        )
    finally:
        cluster.stop_all()
