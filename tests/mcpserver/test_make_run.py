"""`make run` on a fresh checkout, on a port other than the default: every URL it prints and
advertises works as printed, and so do the commands it tells people to run."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx2
import pytest

from tests.mcpserver.conftest import ROOT

pytestmark = pytest.mark.own_database
MODERN = "2026-07-28"


def _fresh_checkout(tmp_path: Path) -> Path:
    """The tracked and new files of this checkout (as a clone would have them) and its venv."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    copy = tmp_path / "checkout"
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    (copy / ".venv").symlink_to((ROOT / ".venv").resolve())
    return copy


def _discover(endpoint: str, key: str | None) -> httpx2.Response:
    body = {
        "jsonrpc": "2.0", "id": 1, "method": "server/discover",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                             "io.modelcontextprotocol/clientCapabilities": {}}},
    }  # fmt: skip
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "server/discover",
    }
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return httpx2.post(endpoint, content=json.dumps(body), headers=headers, timeout=10)


def _requirement_titles(endpoint: str, key: str) -> list[str]:
    body = {
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "list_requirements", "arguments": {},
                   "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                             "io.modelcontextprotocol/clientCapabilities": {}}},
    }  # fmt: skip
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": "list_requirements",
        "Authorization": f"Bearer {key}",
    }
    answer = httpx2.post(endpoint, content=json.dumps(body), headers=headers, timeout=10).json()
    items = answer["result"]["structuredContent"]["requirements"]
    return [item["title"] for item in items]


def test_make_run_on_another_port_prints_only_what_works(tmp_path: Path, free_port: int) -> None:
    checkout = _fresh_checkout(tmp_path)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MCP_", "DATABASE_"))
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={free_port}"],
        cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    printed: list[str] = []
    try:
        assert server.stdout is not None
        for line in server.stdout:
            printed.append(line.rstrip("\n"))
            if line.startswith("Serving on"):
                break
        output = "\n".join(printed)
        base = f"http://127.0.0.1:{free_port}"
        assert f"Serving on {base}/" in output, output
        for _ in range(100):  # daphne binds just after the line
            try:
                httpx2.get(base + "/healthz", timeout=1)
                break
            except httpx2.TransportError:
                time.sleep(0.1)

        # The endpoint, the configuration and the key, all on this port.
        endpoint = re.search(r"^MCP endpoint: (\S+)$", output, re.M)[1]  # type: ignore[index]
        assert endpoint == f"{base}/mcp/demo"
        key = printed[printed.index("API key:") + 1]
        config = json.loads(output[output.index("{") : output.index("\nClaude Code:")])
        assert config["mcpServers"]["demo"]["url"] == endpoint
        assert config["mcpServers"]["demo"]["headers"]["Authorization"] == f"Bearer {key}"
        assert _discover(endpoint, key).status_code == 200
        claude = re.search(r"^Claude Code: (.+)$", output, re.M)[1]  # type: ignore[index]
        header = f'--header "Authorization: Bearer {key}"'
        assert claude == f"claude mcp add --transport http demo {endpoint} {header}"

        # The demo shows the product: seeded work, and a second tenant that cannot see it.
        titles = _requirement_titles(endpoint, key)
        assert "Single sign-on for the customer portal" in titles and len(titles) == 3
        other = re.search(r"^A second tenant, to see isolation: (\S+) \(key (\S+)\)$", output, re.M)
        assert other, output
        assert _requirement_titles(other[1], other[2]) == ["Globex: warehouse barcode scanning"]

        # What an OAuth client is told: the challenge and the resource it points to.
        refused = _discover(endpoint, None)
        assert refused.status_code == 401
        metadata_url = re.search(
            r'resource_metadata="([^"]+)"', refused.headers["www-authenticate"]
        )[1]  # type: ignore[index]
        assert metadata_url.startswith(base + "/")
        assert httpx2.get(metadata_url, timeout=5).json()["resource"] == endpoint

        # The landing page and the admin, signed in with the login it printed.
        assert httpx2.get(base + "/", headers={"Accept": "text/html"}, timeout=5).status_code == 200
        admin = re.search(r"^Admin: (\S+) \(user (\S+), password (\S+)\)$", output, re.M)
        assert admin, output
        with httpx2.Client(base_url=base, timeout=10) as browser:
            form = browser.get("/admin/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)[1]  # type: ignore[index]
            signed_in = browser.post(
                "/admin/login/?next=/admin/",
                data={"csrfmiddlewaretoken": token, "username": admin[2], "password": admin[3]},
                headers={"Referer": base + "/admin/login/"},
                follow_redirects=True,
            )
            assert signed_in.status_code == 200 and "Log out" in signed_in.text
        assert admin[1] == f"{base}/admin/"

        # The command line it prints, run as printed, against the server it started.
        assert "bin/manage <command>" in output
        made = subprocess.run(
            ["bin/manage", "create_api_key", "demo", "--name", "second"],
            cwd=checkout, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        assert _discover(endpoint, made.stdout.strip().splitlines()[-1]).status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
