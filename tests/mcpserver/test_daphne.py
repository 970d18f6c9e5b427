"""Daphne started as documented: bodies capped as they arrive, slow and idle connections
closed, long streams left alone, and no credential in anything the server writes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mcpserver.conftest import (
    MODERN,
    ROOT,
    Served,
    base_env,
    start_daphne,
    stop_daphne,
)

TEN_MB = 10 * 1024 * 1024
LIMIT = 1_048_576  # MAX_REQUEST_BYTES' default


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str]:
    """A migrated SQLite database with tenant ``acme`` and an API key, as ``make run`` leaves."""
    tmp = tmp_path_factory.mktemp("daphne")
    env = base_env(tmp, DJANGO_DEBUG="1")

    def manage(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip

    manage("migrate", "--noinput", "-v", "0")
    manage("create_tenant", "acme", "--name", "Acme", "--toolsets", "builtin,conformance")
    key = manage("create_api_key", "acme", "--name", "ci").strip().splitlines()[-1]
    return env, key


@pytest.fixture(scope="module")
def documented(prepared: tuple[dict[str, str], str], tmp_path_factory) -> Iterator[Served]:
    env, _key = prepared
    served = start_daphne(env, _port(), tmp_path_factory.mktemp("log") / "daphne.log")
    yield served
    stop_daphne(served)


@pytest.fixture(scope="module")
def strict(prepared: tuple[dict[str, str], str], tmp_path_factory) -> Iterator[Served]:
    """HTTP_REQUEST_TIMEOUT 3 s, HTTP_KEEPALIVE_TIMEOUT 2 s."""
    env, _key = prepared
    env = {**env, "DJANGO_SETTINGS_MODULE": "tests.mcpserver.daphne_strict_settings"}
    served = start_daphne(env, _port(), tmp_path_factory.mktemp("log") / "daphne.log")
    yield served
    stop_daphne(served)


def _connect(served: Served, timeout: float = 30) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=timeout)
    return sock


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
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


def _closed_within(sock: socket.socket, seconds: float) -> bool:
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


def _mcp_head(served: Served, key: str, method: str, *extra: str) -> bytes:
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


def _modern(method: str, ident: str, **params: object) -> bytes:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    message = {"jsonrpc": "2.0", "id": ident, "method": method, "params": {**params, "_meta": meta}}
    return json.dumps(message).encode()


# --- Bodies -----------------------------------------------------------------------------------


def _send_until_closed(sock: socket.socket, head: bytes, body_chunks: Iterator[bytes]) -> list[int]:
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


def _chunked(total: int, size: int = 65536) -> Iterator[bytes]:
    piece = b"x" * size
    for _ in range(total // size):
        yield b"%x\r\n%s\r\n" % (size, piece)
    yield b"0\r\n\r\n"


def test_chunked_body_over_the_limit_is_refused_as_it_arrives(documented, prepared) -> None:
    _env, key = prepared
    sock = _connect(documented)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    head = _mcp_head(documented, key, "tools/list", "Transfer-Encoding: chunked")
    written = _send_until_closed(sock, head, _chunked(TEN_MB))
    status, body = _read_response(sock)
    written[1].join(timeout=60)  # type: ignore[attr-defined]
    sock.close()
    assert status == 413
    assert json.loads(body)["error"]["code"] == -32600
    # The server stopped reading at the cap: what it took is the cap plus socket buffers.
    assert written[0] < 4 * LIMIT, written[0]


def test_declared_length_over_the_limit_is_refused_unread(documented, prepared) -> None:
    _env, key = prepared
    sock = _connect(documented)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    head = _mcp_head(documented, key, "tools/list", f"Content-Length: {TEN_MB}")
    written = _send_until_closed(sock, head, iter([b"x" * 65536] * (TEN_MB // 65536)))
    status, body = _read_response(sock)
    written[1].join(timeout=60)  # type: ignore[attr-defined]
    sock.close()
    assert status == 413
    assert json.loads(body)["error"]["message"] == "Request body too large"
    assert written[0] < 4 * LIMIT, written[0]


def test_a_body_under_the_limit_is_served(documented, prepared) -> None:
    _env, key = prepared
    body = _modern("tools/list", "big", padding="y" * (LIMIT // 2))
    with _connect(documented) as sock:
        head = _mcp_head(documented, key, "tools/list", "Transfer-Encoding: chunked")
        sock.sendall(head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        status, answer = _read_response(sock)
    assert status == 200, answer
    assert json.loads(answer)["id"] == "big"


# --- Slow and idle connections ----------------------------------------------------------------


def test_a_trickling_body_is_cut_off_after_the_request_timeout(strict, prepared) -> None:
    _env, key = prepared
    with _connect(strict) as sock:
        sock.sendall(_mcp_head(strict, key, "tools/list", "Content-Length: 1000"))
        closed = False
        started = time.monotonic()
        for _ in range(60):  # one byte a second: never idle, never done
            try:
                sock.sendall(b"{")
            except OSError:
                closed = True
                break
            sock.settimeout(1)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            assert data.startswith(b"HTTP/1.1 408"), data
            closed = _closed_within(sock, 30)
            break
        assert closed and time.monotonic() - started < 40


def test_a_trickling_request_line_is_cut_off_too(strict) -> None:
    closed = False
    with _connect(strict) as sock:
        started = time.monotonic()
        for char in b"POST /mcp/acme?" + b"a" * 60:  # one byte a second
            try:
                sock.sendall(bytes([char]))
            except OSError:
                closed = True
                break
            if _closed_within(sock, 1):
                closed = True
                break
    assert closed and time.monotonic() - started < 40


def test_an_idle_keep_alive_connection_is_closed(strict, prepared) -> None:
    _env, key = prepared
    with _connect(strict) as sock:
        body = _modern("tools/list", "first")
        sock.sendall(_mcp_head(strict, key, "tools/list", f"Content-Length: {len(body)}") + body)
        status, _answer = _read_response(sock)
        assert status == 200
        assert _closed_within(sock, 30)


def test_requests_on_a_keep_alive_connection_within_the_timeout_are_served(strict, prepared):
    _env, key = prepared
    with _connect(strict) as sock:
        for ident in ("one", "two", "three"):
            body = _modern("tools/list", ident)
            sock.sendall(
                _mcp_head(strict, key, "tools/list", f"Content-Length: {len(body)}") + body
            )
            status, answer = _read_response(sock)
            assert status == 200 and json.loads(answer)["id"] == ident
            time.sleep(0.5)


def test_a_listen_stream_outlives_both_timeouts(strict, prepared) -> None:
    _env, key = prepared
    listen = _modern("subscriptions/listen", "sub-1", notifications={"toolsListChanged": True})
    with _connect(strict) as stream:
        stream.sendall(
            _mcp_head(strict, key, "subscriptions/listen", f"Content-Length: {len(listen)}")
            + listen
        )
        received = b""
        while b"notifications/subscriptions/acknowledged" not in received:
            received += stream.recv(65536)
        assert received.startswith(b"HTTP/1.1 200")
        # Longer than HTTP_REQUEST_TIMEOUT and HTTP_KEEPALIVE_TIMEOUT together, with slack.
        assert not _closed_within(stream, 8)
        call = _modern("tools/call", "t", name="test_trigger_tool_change")
        with _connect(strict) as other:
            other.sendall(
                _mcp_head(
                    strict,
                    key,
                    "tools/call",
                    "Mcp-Name: test_trigger_tool_change",
                    f"Content-Length: {len(call)}",
                )
                + call
            )
            assert _read_response(other)[0] == 200
        stream.settimeout(30)
        while b"notifications/tools/list_changed" not in received:
            chunk = stream.recv(65536)
            assert chunk, "the stream was closed"
            received += chunk


# --- Access log -------------------------------------------------------------------------------


def _request_with_key_in_query(served: Served, raw: str) -> None:
    with _connect(served) as sock:
        sock.sendall(
            f"POST /mcp/acme?access_token={raw}&x={raw} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{served.port}\r\nAuthorization: Bearer {raw}\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\n"
            "Connection: close\r\n\r\n{}".encode()
        )
        status, _body = _read_response(sock)
    assert status in (400, 401)


def _wait_for_line(served: Served, needle: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        output = served.output()
        if needle in output:
            return output
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never logged:\n{served.output()}")


def test_the_access_log_never_shows_a_key(documented, prepared) -> None:
    _env, key = prepared
    for raw in (key, "mcpk_" + "Z" * 43):  # a real key, and one the server refuses
        _request_with_key_in_query(documented, raw)
    output = _wait_for_line(documented, "POST /mcp/acme?access_token=")
    assert "mcpk_" not in output


def test_nothing_at_debug_level_shows_a_key(prepared, tmp_path: Path) -> None:
    env, key = prepared
    served = start_daphne({**env, "LOG_LEVEL": "DEBUG"}, _port(), tmp_path / "d.log", "-v", "2")
    try:
        _request_with_key_in_query(served, key)
        output = _wait_for_line(served, "POST /mcp/acme?access_token=")
    finally:
        stop_daphne(served)
    assert key not in output and "mcpk_" not in output


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/mcp/acme?access_token=abc&page=2", "/mcp/acme?access_token=[redacted]&page=2"),
        ("/x?q=mcpk_secret", "/x?q=[redacted]"),
        ("/x?q=Bearer%20mcpk%5Fsecret", "/x?q=[redacted]"),
        ("/x?mcpk_secret", "/x?[redacted]"),
        ("/x/mcpk_secret/y", "/x/[redacted]/y"),
        ("/x?id_token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig", "/x?id_token=[redacted]"),
        ("/x?u=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig", "/x?u=[redacted]"),
        ("/oauth/acme/callback?code=xyz&state=s", "/oauth/acme/callback?code=[redacted]&state=s"),
        ("/healthz", "/healthz"),
    ],
)
def test_redact_target(target: str, logged: str) -> None:
    from mcpserver.logging import redact_target

    assert redact_target(target) == logged
