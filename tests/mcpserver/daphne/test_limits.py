"""Daphne started as documented: bodies capped as they arrive, slow and idle connections
closed, long streams left alone."""

from __future__ import annotations

import json
import socket
import time

import pytest

from tests.mcpserver.daphne.conftest import (
    LIMIT,
    TEN_MB,
    chunked,
    closed_within,
    connect,
    mcp_head,
    modern,
    read_response,
    send_until_closed,
)

# Servers on a database of their own: the result does not depend on the suite's database,
# so the PostgreSQL pass skips them (make test runs them once).
pytestmark = pytest.mark.own_database


def test_chunked_body_over_the_limit_is_refused_as_it_arrives(documented, prepared) -> None:
    _env, key = prepared
    sock = connect(documented)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    head = mcp_head(documented, key, "tools/list", "Transfer-Encoding: chunked")
    written = send_until_closed(sock, head, chunked(TEN_MB))
    status, body = read_response(sock)
    written[1].join(timeout=60)  # type: ignore[attr-defined]
    sock.close()
    assert status == 413
    assert json.loads(body)["error"]["code"] == -32600
    # The server stopped reading at the cap: what it took is the cap plus socket buffers.
    assert written[0] < 4 * LIMIT, written[0]


def test_declared_length_over_the_limit_is_refused_unread(documented, prepared) -> None:
    _env, key = prepared
    sock = connect(documented)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    head = mcp_head(documented, key, "tools/list", f"Content-Length: {TEN_MB}")
    written = send_until_closed(sock, head, iter([b"x" * 65536] * (TEN_MB // 65536)))
    status, body = read_response(sock)
    written[1].join(timeout=60)  # type: ignore[attr-defined]
    sock.close()
    assert status == 413
    assert json.loads(body)["error"]["message"] == "Request body too large"
    assert written[0] < 4 * LIMIT, written[0]


def test_a_body_under_the_limit_is_served(documented, prepared) -> None:
    _env, key = prepared
    body = modern("tools/list", "big", padding="y" * (LIMIT // 2))
    with connect(documented) as sock:
        head = mcp_head(documented, key, "tools/list", "Transfer-Encoding: chunked")
        sock.sendall(head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        status, answer = read_response(sock)
    assert status == 200, answer
    assert json.loads(answer)["id"] == "big"


def test_a_form_body_reaches_the_application_unparsed(documented, prepared) -> None:
    # Twisted parses a POST's form arguments itself unless told not to, and answers a broken
    # multipart body with its own bare 400 before the application sees the request.
    _env, key = prepared
    body = b"not a multipart body"
    head = mcp_head(documented, key, "tools/list", f"Content-Length: {len(body)}")
    head = head.replace(b"application/json", b"multipart/form-data; boundary=x", 1)
    with connect(documented) as sock:
        sock.sendall(head + body)
        status, answer = read_response(sock)
    assert status == 415, answer
    assert json.loads(answer)["error"]["message"].startswith("Unsupported media type")


# --- Slow and idle connections ----------------------------------------------------------------


def test_a_trickling_body_is_cut_off_after_the_request_timeout(strict, prepared) -> None:
    _env, key = prepared
    with connect(strict) as sock:
        sock.sendall(mcp_head(strict, key, "tools/list", "Content-Length: 1000"))
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
            closed = closed_within(sock, 30)
            break
        assert closed and time.monotonic() - started < 40


def test_a_trickling_request_line_is_cut_off_too(strict) -> None:
    closed = False
    with connect(strict) as sock:
        started = time.monotonic()
        for char in b"POST /mcp/acme?" + b"a" * 60:  # one byte a second
            try:
                sock.sendall(bytes([char]))
            except OSError:
                closed = True
                break
            if closed_within(sock, 1):
                closed = True
                break
    assert closed and time.monotonic() - started < 40


def test_an_idle_keep_alive_connection_is_closed(strict, prepared) -> None:
    _env, key = prepared
    with connect(strict) as sock:
        body = modern("tools/list", "first")
        sock.sendall(mcp_head(strict, key, "tools/list", f"Content-Length: {len(body)}") + body)
        status, _answer = read_response(sock)
        assert status == 200
        assert closed_within(sock, 30)


def test_requests_on_a_keep_alive_connection_within_the_timeout_are_served(strict, prepared):
    _env, key = prepared
    with connect(strict) as sock:
        for ident in ("one", "two", "three"):
            body = modern("tools/list", ident)
            sock.sendall(mcp_head(strict, key, "tools/list", f"Content-Length: {len(body)}") + body)
            status, answer = read_response(sock)
            assert status == 200 and json.loads(answer)["id"] == ident
            time.sleep(0.5)


def test_a_listen_stream_outlives_both_timeouts(strict, prepared) -> None:
    _env, key = prepared
    listen = modern("subscriptions/listen", "sub-1", notifications={"toolsListChanged": True})
    with connect(strict) as stream:
        stream.sendall(
            mcp_head(strict, key, "subscriptions/listen", f"Content-Length: {len(listen)}") + listen
        )
        received = b""
        while b"notifications/subscriptions/acknowledged" not in received:
            received += stream.recv(65536)
        assert received.startswith(b"HTTP/1.1 200")
        # Longer than HTTP_REQUEST_TIMEOUT and HTTP_KEEPALIVE_TIMEOUT together, with slack.
        assert not closed_within(stream, 8)
        call = modern("tools/call", "t", name="test_trigger_tool_change")
        with connect(strict) as other:
            other.sendall(
                mcp_head(
                    strict,
                    key,
                    "tools/call",
                    "Mcp-Name: test_trigger_tool_change",
                    f"Content-Length: {len(call)}",
                )
                + call
            )
            assert read_response(other)[0] == 200
        stream.settimeout(30)
        while b"notifications/tools/list_changed" not in received:
            chunk = stream.recv(65536)
            assert chunk, "the stream was closed"
            received += chunk


# --- Access log -------------------------------------------------------------------------------
