"""Revocation reaches a second process's process tier within one second."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from sessions_store.store import Store

ROOT = Path(__file__).resolve().parents[2]


class Child:
    def __init__(self, key: str, env: dict[str, str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "tests.sessions_store.store_child", key],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def wait_for(self, state: str, *, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"the second process did not report {state!r} in {timeout} s")
            try:
                if self.lines.get(timeout=remaining) == state:
                    return time.monotonic()
            except queue.Empty:
                continue

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        self.reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    return env


@pytest.fixture
def spawn(child_env: dict[str, str]) -> Iterator[Any]:
    children: list[Child] = []

    def make(key: str, **extra: str) -> Child:
        child = Child(key, {**child_env, **extra})
        children.append(child)
        return child

    yield make
    for child in children:
        child.stop()


def _revocation_reaches(child: Any, store: Store, revoke: Any) -> float:
    # Slow start-up on a loaded machine is not what is measured: only the revocation is.
    child.wait_for("cached", timeout=60)
    started = time.monotonic()
    revoke()
    return child.wait_for("absent", timeout=5) - started


@pytest.mark.parametrize("how", ["delete", "delete_group"])
def test_redis_revocation_reaches_another_process(
    redis_store: Store, use_redis_store: str, spawn: Any, how: str
) -> None:
    redis_store.set_json("auth:1:tok", {"sub": "u"}, ttl=600, groups=["tenant:1"])
    child = spawn("auth:1:tok", REDIS_URL=use_redis_store)

    def revoke() -> None:
        if how == "delete":
            redis_store.delete("auth:1:tok")
        else:
            assert redis_store.delete_group("tenant:1") == 1

    # The child's process tier would keep the entry 30 s: only the broadcast explains this.
    assert _revocation_reaches(child, redis_store, revoke) < 1.0


def test_database_revocation_reaches_another_process(db_store: Store, spawn: Any) -> None:
    vendor_name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database lives in memory, invisible to another process")
    url = os.environ["TEST_POSTGRES_URL"].rsplit("/", 1)[0] + "/" + vendor_name
    db_store.set_json("auth:1:tok", {"sub": "u"}, ttl=600, groups=["tenant:1"])
    child = spawn("auth:1:tok", DATABASE_URL=url)
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    elapsed = _revocation_reaches(child, db_store, lambda: db_store.delete_group("tenant:1"))
    assert elapsed < 1.0
