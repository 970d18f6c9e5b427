"""Browser tests: Playwright for Python driving Debian's Chromium by its executable path (never
``playwright install``), against a real server started the way a deployment runs it: debug
off, collected static files, its own database.

Screenshots go to ``.tmp/artifacts/screenshots/`` (one per page a test visits), kept after
the run for people to look at.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.databases import seed_sqlite
from tests.ports import free_port as _free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".tmp" / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As root in a closed network: no sandbox, and none of the background traffic Chromium tries.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = pytest.mark.own_database


@dataclass
class ProductionServer:
    url: str
    env: dict[str, str]
    admin_user: str
    admin_password: str

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-v", "0", "-c", code).strip()


@pytest.fixture(scope="session")
def production_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProductionServer]:
    """One production-mode server for the browser tests (daphne, the documented command)."""
    tmp = tmp_path_factory.mktemp("live")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MCP_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="mcpserver.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(40),
        MCP_ENCRYPTION_KEYS=secrets.token_hex(32),
        DATABASE_URL=f"sqlite:///{tmp}/db.sqlite3",
        MCP_PUBLIC_URL=url,
        LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)
    password = secrets.token_urlsafe(12)
    server = ProductionServer(url=url, env=env, admin_user="operator", admin_password=password)
    seed_sqlite(env["DATABASE_URL"])
    server.shell(
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_superuser('operator', '', {password!r})"
    )
    log = (tmp / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "mcpserver.asgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx2.get(url + "/healthz", timeout=1)
            break
        except httpx2.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the server did not start:\n" + (tmp / "server.log").read_text())
            time.sleep(0.1)
    try:
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        # A traceback in the server's log is a failure even when every page looked right.
        logged = (tmp / "server.log").read_text(errors="replace")
        assert "Traceback" not in logged, logged


# Per module, not per session: while Playwright's sync API is running it holds an event loop
# on the main thread, and every later test that runs one of its own (asyncio.run) would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Screenshots:
    """Numbered screenshots of one test's pages, full length."""

    def __init__(self, test_name: str) -> None:
        self.prefix = re.sub(r"[^A-Za-z0-9_-]+", "-", test_name)
        self.count = 0
        for old in ARTIFACTS.glob(f"{self.prefix}-*.png"):
            old.unlink()

    def take(self, page: Any, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.count += 1
        path = ARTIFACTS / f"{self.prefix}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A laptop-sized page in a fresh browser context (cookies of its own)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    opened.screenshots = Screenshots(request.node.name)
    yield opened
    context.close()


def sign_in(page: Any, server: ProductionServer) -> None:
    page.goto(server.url + "/admin/login/?next=/admin/")
    page.fill("#id_username", server.admin_user)
    page.fill("#id_password", server.admin_password)
    page.click("input[type=submit]")
    page.wait_for_selector("#dashboard")
