"""Logging helpers: every record carries the current request id, and no line carries a
credential.

Code never logs a credential on purpose; the formatters redact anything shaped like one in the
finished line (message, extra fields, traceback) as a second line of defence: raw API keys
(``API_KEY_PREFIX`` followed by the random part), ``Bearer`` values, JWT-shaped strings and
credential-named query parameters.
"""

import functools
import logging
import re
from urllib.parse import unquote, unquote_plus

from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.json import JsonFormatter

from mcpserver.conf import mcp_settings
from mcpserver.context import request_id_var

_FALLBACK_PREFIX = "mcpk_"


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


@functools.lru_cache(maxsize=4)
def _patterns(api_key_prefix: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    prefixes = {re.escape(api_key_prefix), re.escape(_FALLBACK_PREFIX)}
    return (
        (re.compile(rf"(?:{'|'.join(sorted(prefixes))})[A-Za-z0-9_\-]{{8,}}"), REDACTED),
        (re.compile(r"(?i)\b(bearer)(\s+|%20|\+)[A-Za-z0-9\-._~+/]+=*"), rf"\1\2{REDACTED}"),
        (re.compile(r"\beyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), REDACTED),
        (
            re.compile(r"(?i)\b(access_token|id_token|refresh_token|api_key|token)=[^&\s\"']+"),
            rf"\1={REDACTED}",
        ),
    )


def _api_key_prefix() -> str:
    try:
        return str(mcp_settings.API_KEY_PREFIX) or _FALLBACK_PREFIX
    except ImproperlyConfigured:  # settings not ready yet: the default shape still applies
        return _FALLBACK_PREFIX


def redact(text: str) -> str:
    """``text`` with everything shaped like a credential replaced by ``[redacted]``."""
    for pattern, replacement in _patterns(_api_key_prefix()):
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingJsonFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
