"""Logging helpers: every record carries the current request id; request targets are
redacted before they are logged."""

import logging
import re
from urllib.parse import unquote, unquote_plus

from mcpserver.conf import mcp_settings
from mcpserver.context import request_id_var


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


# Query parameters whose value is a credential whatever it looks like.
_CREDENTIAL_NAME = re.compile(r"token|secret|passw|key|auth|bearer|code|sig|session", re.I)
# A JWT (three base64url parts, the first a JSON object).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.")
REDACTED = "[redacted]"


def _looks_secret(text: str) -> bool:
    return mcp_settings.API_KEY_PREFIX in text or bool(_JWT.search(text))


def redact_target(target: str) -> str:
    """A request target (path and query) fit for a log line: credential-looking query values
    and any path segment or value holding an API key or a JWT become ``[redacted]``."""
    path, mark, query = target.partition("?")
    if _looks_secret(unquote(path)):
        path = "/".join(REDACTED if _looks_secret(unquote(s)) else s for s in path.split("/"))
    if not query:
        return path + mark
    items = []
    for item in query.split("&"):
        name, equals, value = item.partition("=")
        plain_name, plain_value = unquote_plus(name), unquote_plus(value)
        if _looks_secret(plain_name):
            items.append(REDACTED)
        elif _CREDENTIAL_NAME.search(plain_name) or _looks_secret(plain_value):
            items.append(f"{name}{equals}{REDACTED}")
        else:
            items.append(item)
    return f"{path}?{'&'.join(items)}"
