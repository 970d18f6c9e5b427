"""Ready-to-paste configuration for the MCP clients people use, each in the shape that client
reads. With no key (the portal's overview) the key's place holds ``YOUR_API_KEY``."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class ClientConfig:
    id: str
    title: str
    where: str
    text: str


def configurations(*, slug: str, endpoint: str, key: str = "YOUR_API_KEY") -> list[ClientConfig]:
    header = f"Bearer {key}"
    http = {"type": "http", "url": endpoint, "headers": {"Authorization": header}}
    # Claude Desktop starts local (stdio) servers only: mcp-remote bridges to the HTTP one,
    # with the header in an environment variable (Desktop mangles spaces inside args).
    desktop = {
        "mcpServers": {
            slug: {
                "command": "npx",
                "args": ["-y", "mcp-remote", endpoint, "--header", "Authorization:${AUTH_HEADER}"],
                "env": {"AUTH_HEADER": header},
            }
        }
    }
    cursor = {"mcpServers": {slug: {"url": endpoint, "headers": {"Authorization": header}}}}
    quoted_header = shlex.quote(f"Authorization: {header}")
    return [
        ClientConfig(
            "claude-code",
            "Claude Code",
            "run in a terminal",
            f"claude mcp add --transport http {shlex.quote(slug)} {endpoint} "
            f"--header {quoted_header}",
        ),
        ClientConfig(
            "claude-desktop",
            "Claude Desktop",
            "claude_desktop_config.json",
            json.dumps(desktop, indent=2),
        ),
        ClientConfig("cursor", "Cursor", "~/.cursor/mcp.json", json.dumps(cursor, indent=2)),
        ClientConfig(
            "vscode",
            "VS Code",
            ".vscode/mcp.json",
            json.dumps({"servers": {slug: http}}, indent=2),
        ),
        ClientConfig(
            "inspector",
            "MCP Inspector",
            "run in a terminal",
            f"npx @modelcontextprotocol/inspector --cli {endpoint} --transport http "
            f"--header {quoted_header} --method tools/list",
        ),
    ]
