"""Store fixtures: a store on the real test Redis, one on the database, a private Redis server."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from sessions_store.cache_config import store_cache
from sessions_store.store import Store, get_store

KEY_A = "aa" * 32
KEY_B = "bb" * 32


def wait_for(predicate: Callable[[], Any], *, timeout: float = 5.0) -> Any:
    """Polls until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.01)


def wait_live(store: Store) -> None:
    wait_for(store.backend.process_cache_allowed)


def _without_store_alias() -> dict[str, Any]:
    return {alias: config for alias, config in settings.CACHES.items() if alias != "store"}


@pytest.fixture
def use_redis_store(redis_url: str) -> Iterator[str]:
    redis.Redis.from_url(redis_url).flushdb()
    caches = {**_without_store_alias(), "store": store_cache(redis_url)}
    with override_settings(CACHES=caches):
        yield redis_url


@pytest.fixture
def redis_store(use_redis_store: str) -> Store:
    store = get_store()
    wait_live(store)
    return store


@pytest.fixture
def db_store(transactional_db: Any) -> Iterator[Store]:
    with override_settings(CACHES=_without_store_alias()):
        yield get_store()


class RedisServer:
    """A private redis-server on a Unix socket, which a test may stop and start again."""

    def __init__(self, directory: Path, *, persistent: bool = False) -> None:
        self.directory = directory
        # Persistent: an append-only file synced on every write, so a restart (even after
        # SIGKILL) keeps every write Redis acknowledged (the production setting for streams).
        self.persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if persistent
            else ["--appendonly", "no"]
        )
        self.socket = directory / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not on PATH"
        self.process = subprocess.Popen(
            [
                binary,
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--save", "",
                *self.persistence,
                "--dir", str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(unix_socket_path=str(self.socket))
        wait_for(lambda: self.socket.exists() and _pings(client))

    def freeze(self) -> None:
        """SIGSTOP: sockets stay open and connections are accepted, nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no shutdown save; a restart loads the last SAVE's snapshot, if any."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None
        self.socket.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        self.socket.unlink(missing_ok=True)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
