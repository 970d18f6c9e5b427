"""Daphne started as documented, for the tests of its guards: the servers (module-scoped
fixtures) and a raw-socket client that sees exactly what the server reads and writes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tests.databases import seed_sqlite
from tests.mcpserver.conftest import (
    MODERN,
    ROOT,
    Served,
    base_env,
    start_daphne,
    stop_daphne,
)
from tests.ports import free_port as port

TEN_MB = 10 * 1024 * 1024
LIMIT = 1_048_576  # MAX_REQUEST_BYTES' default


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str]:
    """A migrated SQLite database with tenant ``acme`` and an API key, as ``make run`` leaves."""
    tmp = tmp_path_factory.mktemp("daphne")
    env = base_env(tmp, DJANGO_DEBUG="1", MCP_ALLOW_INTERNAL_TOOLSETS="1")

    def manage(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip

    seed_sqlite(env["DATABASE_URL"])
    manage("create_tenant", "acme", "--name", "Acme", "--toolsets", "builtin,conformance")
    key = manage("create_api_key", "acme", "--name", "ci").strip().splitlines()[-1]
    return env, key


@pytest.fixture(scope="module")
def documented(prepared: tuple[dict[str, str], str], tmp_path_factory) -> Iterator[Served]:
    env, _key = prepared
    served = start_daphne(env, port(), tmp_path_factory.mktemp("log") / "daphne.log")
    yield served
    stop_daphne(served)


@pytest.fixture(scope="module")
def strict(prepared: tuple[dict[str, str], str], tmp_path_factory) -> Iterator[Served]:
    """HTTP_REQUEST_TIMEOUT 3 s, HTTP_KEEPALIVE_TIMEOUT 2 s."""
    env, _key = prepared
    env = {**env, "DJANGO_SETTINGS_MODULE": "tests.mcpserver.daphne_strict_settings"}
    served = start_daphne(env, port(), tmp_path_factory.mktemp("log") / "daphne.log")
    yield served
    stop_daphne(served)


def connect(served: Served, timeout: float = 30) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=timeout)
    return sock


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """One response (status, body) read off a raw socket, by Content-Length or chunks."""
    data = b""

    def more() -> None:
        nonlocal data
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed mid-response: {data[:200]!r}")
        data += chunk

    while b"\r\n\r\n" not in data:
        more()
    head, data = data.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    fields = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:])
    }
    if fields.get(b"transfer-encoding") != b"chunked":
        while len(data) < int(fields.get(b"content-length", b"0")):
            more()
        return status, data
    body = b""
    while True:
        while b"\r\n" not in data:
            more()
        size_line, data = data.split(b"\r\n", 1)
        size = int(size_line, 16)
        while len(data) < size + 2:
            more()
        body, data = body + data[:size], data[size + 2 :]
        if size == 0:
            return status, body


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes the connection (EOF or reset) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            return False
        except OSError:
            return True
    return False


def mcp_head(served: Served, key: str, method: str, *extra: str) -> bytes:
    lines = [
        "POST /mcp/acme HTTP/1.1",
        f"Host: 127.0.0.1:{served.port}",
        f"Authorization: Bearer {key}",
        "Content-Type: application/json",
        "Accept: application/json, text/event-stream",
        f"MCP-Protocol-Version: {MODERN}",
        f"Mcp-Method: {method}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def modern(method: str, ident: str, **params: object) -> bytes:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    message = {"jsonrpc": "2.0", "id": ident, "method": method, "params": {**params, "_meta": meta}}
    return json.dumps(message).encode()


# --- Bodies -----------------------------------------------------------------------------------


def send_until_closed(sock: socket.socket, head: bytes, body_chunks: Iterator[bytes]) -> list[int]:
    """Write ``head`` and then chunks until the server stops taking them; bytes accepted."""
    written = [0]

    def writer() -> None:
        try:
            sock.sendall(head)
            for chunk in body_chunks:
                sock.sendall(chunk)
                written[0] += len(chunk)
        except OSError:
            pass  # the server closed: what it accepted is counted

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    written.append(thread)  # type: ignore[arg-type]
    return written


def chunked(total: int, size: int = 65536) -> Iterator[bytes]:
    piece = b"x" * size
    for _ in range(total // size):
        yield b"%x\r\n%s\r\n" % (size, piece)
    yield b"0\r\n\r\n"
