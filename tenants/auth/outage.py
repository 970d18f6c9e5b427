"""What a client is told while the database cannot answer: 503, try again shortly.

The fast path needs no database (a cached tenant configuration and principal), so already
validated credentials keep working during an outage. Anything that must ask the database
(a new credential, an unknown tenant, the metadata document) cannot know the answer: it is
neither "no" (401, 404) nor a fault of ours (500) but "not now", a 503 with ``Retry-After``
and a JSON body in OAuth's vocabulary (RFC 6749 section 4.1.2.1: ``temporarily_unavailable``).
"""

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from channels.db import database_sync_to_async
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

from mcpserver.conf import mcp_settings
from mcpserver.refusals import ServiceUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The errors a database that is down, restarting or unreachable raises (connection refused,
# server closed the connection, connect timeout); not errors of a query itself.
OUTAGE_ERRORS = (OperationalError, InterfaceError)

_LOG_INTERVAL = 10.0
_last_logged = [-_LOG_INTERVAL, 0]  # monotonic time of the last line, outages since


class DatabaseUnavailable(ServiceUnavailable):
    """The database did not answer; the request cannot be decided now (answered 503)."""

    default_message = "The service cannot answer this request right now; try again shortly."

    def __init__(self, *, reason: str = "") -> None:
        super().__init__(reason=reason)
        self.retry_after = int(mcp_settings.DATABASE_RETRY_AFTER)


def note(exc: BaseException) -> None:
    # One line per interval, not one per request: an outage must not flood the logs.
    _last_logged[1] += 1
    now = time.monotonic()
    if now - _last_logged[0] >= _LOG_INTERVAL:
        logger.warning(
            "database unavailable (%s); %d request(s) answered 503 since the last report",
            type(exc).__name__,
            _last_logged[1],
        )
        _last_logged[0], _last_logged[1] = now, 0


def translate(exc: BaseException) -> DatabaseUnavailable:
    note(exc)
    return DatabaseUnavailable(reason=type(exc).__name__)


async def db_call(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``database_sync_to_async(func)(...)``, with an outage raised as DatabaseUnavailable."""
    try:
        return await database_sync_to_async(func)(*args, **kwargs)
    except OUTAGE_ERRORS as exc:
        raise translate(exc) from exc


def json_response() -> JsonResponse:
    """The same answer from a Django view."""
    refusal = DatabaseUnavailable()
    response = JsonResponse(refusal.body(), status=refusal.http_status)
    for name, value in refusal.headers():
        response[name.decode()] = value.decode()
    response["Cache-Control"] = "no-store"
    return response
