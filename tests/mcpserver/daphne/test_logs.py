"""Daphne started as documented writes no credential in anything it logs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.mcpserver.conftest import (
    Served,
    start_daphne,
    stop_daphne,
)
from tests.mcpserver.daphne.conftest import (
    connect,
    port,
    read_response,
)

# Servers on a database of their own: the result does not depend on the suite's database,
# so the PostgreSQL pass skips them (make test runs them once).
pytestmark = pytest.mark.own_database


def _request_with_key_in_query(served: Served, raw: str) -> None:
    with connect(served) as sock:
        sock.sendall(
            f"POST /mcp/acme?access_token={raw}&x={raw} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{served.port}\r\nAuthorization: Bearer {raw}\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\n"
            "Connection: close\r\n\r\n{}".encode()
        )
        status, _body = read_response(sock)
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
    served = start_daphne({**env, "LOG_LEVEL": "DEBUG"}, port(), tmp_path / "d.log", "-v", "2")
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
