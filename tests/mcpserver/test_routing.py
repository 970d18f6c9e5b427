"""The ASGI router in front of Django: ``/mcp/<slug>`` (under any ``root_path``) reaches the MCP
stack, which refuses a request without a credential with its 401 challenge; every other path,
near misses included, is Django's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync

pytestmark = pytest.mark.django_db(transaction=True)


async def _status(path: str, root_path: str = "") -> tuple[int, dict[bytes, bytes]]:
    from mcpserver.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []
    bodies = [{"type": "http.request", "body": b"{}", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if bodies:
            return bodies.pop()
        await asyncio.Event().wait()  # the client stays until answered
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    start = sent[0]
    return start["status"], dict(start["headers"])


@pytest.mark.parametrize("root_path", ["", "/base"])
def test_the_endpoint_is_the_mcp_stack_under_any_root_path(
    make_tenant: Any, root_path: str
) -> None:
    make_tenant("acme")
    status, headers = async_to_sync(_status)(f"{root_path}/mcp/acme", root_path)
    assert status == 401
    assert b"www-authenticate" in headers


@pytest.mark.parametrize("path", ["/mcp/acme/", "/mcp/acme/extra", "/mcp/Acme", "/base/mcp/acme"])
def test_other_paths_are_djangos(make_tenant: Any, path: str) -> None:
    make_tenant("acme")
    status, headers = async_to_sync(_status)(path)
    assert status in {403, 404, 405}  # Django's refusals (403: a POST without a CSRF token)
    assert b"www-authenticate" not in headers
