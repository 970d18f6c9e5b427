"""The protocol revisions this server speaks, and the two eras they belong to.

The era is decided once per message (``mcpserver.protocol.inbound.classify``) and travels as
a value: the dispatcher's method tables, the capabilities, the tool context and the error
translator all take an ``Era``. A future revision is a new version in a member's tuple, or a
new member, never a new boolean.
"""

from __future__ import annotations

import enum


class Era(enum.Enum):
    # 2026-07-28: no handshake, no session; every request carries its version and the
    # client's capabilities in _meta (and in headers over HTTP).
    STATELESS = "stateless"
    # 2025-11-25 and older: initialize, then a session (Mcp-Session-Id over HTTP).
    SESSION = "session"


STATELESS_VERSIONS = ("2026-07-28",)
SESSION_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
SUPPORTED_VERSIONS = STATELESS_VERSIONS + SESSION_VERSIONS
LATEST_SESSION_VERSION = SESSION_VERSIONS[0]
# A session-era request without MCP-Protocol-Version is taken to speak this version.
SESSION_DEFAULT_VERSION = "2025-03-26"

META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
META_LOG_LEVEL = "io.modelcontextprotocol/logLevel"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"
META_SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"

SERVER_INFO = {"name": "mcp-tenant-server", "title": "Multi-tenant MCP server", "version": "0.1.0"}
