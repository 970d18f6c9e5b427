"""Settings for server processes launched by tests: the real ones, plus test overrides.

``MCP_TEST_OVERRIDES`` (JSON) may carry ``MCP_SERVER`` keys and ``CHANNEL_LAYER`` config keys,
so a test can shrink a limit or an expiry in the server it starts.
"""

import json
import os
from typing import Any

from mcpserver.conf import DEFAULTS
from mcpserver.settings import *  # noqa: F403
from mcpserver.settings import CHANNEL_LAYERS, MCP_SERVER

_layer: dict[str, Any] = dict(CHANNEL_LAYERS["default"])
_overrides = json.loads(os.environ.get("MCP_TEST_OVERRIDES") or "{}")
# Their tenants get the conformance fixture set.
MCP_SERVER = {
    **MCP_SERVER,
    "ALLOW_INTERNAL_TOOLSETS": True,
    # A slow tool whose steps a test can watch (tests/interop/ticker.py).
    "TOOLSETS": [*MCP_SERVER.get("TOOLSETS", DEFAULTS["TOOLSETS"]), "tests.interop.ticker"],
    **_overrides.get("MCP_SERVER", {}),
}
CHANNEL_LAYERS = {
    "default": {
        **_layer,
        "CONFIG": {
            **_layer.get("CONFIG", {}),
            **_overrides.get("CHANNEL_LAYER", {}),
        },
    }
}
