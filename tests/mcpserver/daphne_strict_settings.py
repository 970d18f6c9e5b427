"""The test settings with daphne's timeouts short enough to watch them fire."""

from typing import Any

from tests.settings import *  # noqa: F403
from tests.settings import MCP_SERVER

MCP_SERVER: dict[str, Any] = {  # type: ignore[no-redef]
    **MCP_SERVER,
    "HTTP_REQUEST_TIMEOUT": 3,
    "HTTP_KEEPALIVE_TIMEOUT": 2,
}
