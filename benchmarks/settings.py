"""The real settings plus the benchmarks' tool set (``benchmarks.tools``), and any
``MCP_SERVER`` keys a benchmark target sets in ``MCP_BENCH_OVERRIDES`` (JSON)."""

import json
import os

from mcpserver.conf import DEFAULTS
from mcpserver.settings import *  # noqa: F403
from mcpserver.settings import MCP_SERVER

MCP_SERVER = {
    **MCP_SERVER,
    "TOOLSETS": [*MCP_SERVER.get("TOOLSETS", DEFAULTS["TOOLSETS"]), "benchmarks.tools"],
    **json.loads(os.environ.get("MCP_BENCH_OVERRIDES") or "{}"),
}
