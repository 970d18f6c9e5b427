"""The real settings plus the benchmarks' tool set (``benchmarks.tools``)."""

from mcpserver.conf import DEFAULTS
from mcpserver.settings import *  # noqa: F403
from mcpserver.settings import MCP_SERVER

MCP_SERVER = {
    **MCP_SERVER,
    "TOOLSETS": [*MCP_SERVER.get("TOOLSETS", DEFAULTS["TOOLSETS"]), "benchmarks.tools"],
}
