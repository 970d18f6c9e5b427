"""What the store raises to callers that must tell "unknown" from "absent"."""

import math

from mcpserver.conf import mcp_settings
from mcpserver.errors import Unavailable


class StoreUnavailable(Unavailable):
    """The shared tier could not be asked (down, hung, or the breaker is open).

    Distinct from a miss: a caller that would answer "not found" on a miss (a legacy session)
    must answer "try again" instead (503 with ``Retry-After``: the session is probably fine,
    only unreachable for a moment); a cache caller treats it as a miss.
    """

    default_message = "Session store unavailable, retry shortly"

    def __init__(self, detail: str = "") -> None:
        super().__init__()  # the client is told only the default message
        self.detail = detail
        # The breaker probes Redis every cooldown: a retry after that is the first with a chance.
        self.retry_after = max(1, math.ceil(float(mcp_settings.STORE_BREAKER_COOLDOWN)) + 1)
