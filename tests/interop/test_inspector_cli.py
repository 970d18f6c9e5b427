"""The MCP Inspector CLI (Node) lists and calls tools against a live tenant in both eras."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.interop.conftest import NODE, LiveTenant

ERAS = ["legacy", "modern"]


def inspector(node_tools: Path, live: LiveTenant, era: str, *args: str, home: Path) -> Any:
    launcher = node_tools / "@modelcontextprotocol/inspector/clients/launcher/build/index.js"
    command = [
        str(NODE),
        str(launcher),
        "--cli",
        live.url,
        "--transport",
        "http",
        "--protocol-era",
        era,
        "--header",
        f"Authorization: Bearer {live.key}",
        *args,
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(home), "PATH": str(NODE.parent)},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("era", ERAS)
def test_inspector_lists_tools(
    node_tools: Path, live_tenant: LiveTenant, era: str, tmp_path: Path
) -> None:
    result = inspector(node_tools, live_tenant, era, "--method", "tools/list", home=tmp_path)
    names = [tool["name"] for tool in result["tools"]]
    assert names[0] == "whoami"
    assert "test_simple_text" in names


@pytest.mark.parametrize("era", ERAS)
def test_inspector_calls_a_tool(
    node_tools: Path, live_tenant: LiveTenant, era: str, tmp_path: Path
) -> None:
    result = inspector(
        node_tools,
        live_tenant,
        era,
        "--method",
        "tools/call",
        "--tool-name",
        "whoami",
        home=tmp_path,
    )
    assert result["structuredContent"]["tenant"] == "interop"
    assert result["structuredContent"]["auth_method"] == "api_key"
