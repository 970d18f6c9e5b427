"""Real Celery worker and beat processes on the test PostgreSQL database and Redis broker."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{quote(db['HOST'], safe='')}/{db['NAME']}"


def broker_url(redis_url: str) -> str:
    # kombu names a Redis Unix socket redis+socket:///path
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


def reset_connections(app: Any) -> None:
    """Drop the app's connection and producer pools, made for whichever broker was configured
    when a task was first sent in this process (the eager tests' memory://), as a fork does."""
    app._pool = None  # kombu keeps the pool itself for the next user of that broker
    app.amqp._producer_pool = None


class Jobs:
    """Starts ``celery -A mcpserver worker`` / ``beat`` as a deployment does; each in its own
    process group, so a kill takes the pool's children with it, as losing a node would."""

    def __init__(self, *, broker: str, tmp: Path, settings_module: str = "tests.settings") -> None:
        self.tmp = tmp
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker,
            # An unacknowledged job (its worker was killed) comes back after this long.
            "CELERY_VISIBILITY_TIMEOUT": "4",
        }
        self.env.pop("REDIS_URL", None)  # the store stays on the database, like this process's
        self.procs: list[subprocess.Popen[bytes]] = []
        self.starts = 0

    def _start(self, args: list[str]) -> subprocess.Popen[bytes]:
        self.starts += 1
        log = (self.tmp / f"{args[0]}-{self.starts}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "mcpserver", *args],
            cwd=settings.BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def worker(self) -> subprocess.Popen[bytes]:
        return self._start(
            ["worker", "--pool", "prefork", "--concurrency", "1", "-n", f"w{self.starts + 1}@%h",
             "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info"]
        )  # fmt: skip

    def beat(self) -> subprocess.Popen[bytes]:
        return self._start(
            ["beat", "-l", "info", "-s", str(self.tmp / "celerybeat-schedule")]
        )  # fmt: skip

    @staticmethod
    def kill(proc: subprocess.Popen[bytes]) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp.glob("*.log")))

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, jobs: Jobs) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; logs:\n{jobs.logs()[-6000:]}")
        time.sleep(0.2)
