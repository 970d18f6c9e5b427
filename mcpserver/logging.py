"""Logging helpers: every record carries the current request id, tenant and principal, and no
line carries a credential.

Code never logs a credential on purpose; the formatters redact anything shaped like one in the
finished line (message, extra fields, traceback) as a second line of defence: raw API keys
(``API_KEY_PREFIX`` followed by the random part), ``Bearer`` values, JWT-shaped strings,
credential-named query parameters, the values of ``Authorization``, ``Cookie`` and similar
headers however they are printed (a dict, an ASGI header pair), sealed ``requestState``
values, and every value handed to ``mark_secret`` (a tenant secret once decrypted). SQL logged
at DEBUG keeps its shape with every literal and parameter replaced (``SqlParamsFilter``).
"""

import functools
import logging
import re
import threading
from urllib.parse import unquote, unquote_plus

from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.json import JsonFormatter

from mcpserver.conf import mcp_settings
from mcpserver.context import principal_var, request_id_var, tenant_var

_FALLBACK_PREFIX = "mcpk_"


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.tenant = tenant_var.get()
        record.principal = principal_var.get()
        return True


# A quoted SQL string literal (doubled quotes inside), or a hex blob literal.
_SQL_LITERAL = re.compile(r"(?:[xX])?'(?:[^']|'')*'")


class SqlParamsFilter(logging.Filter):
    """On ``django.db.backends``: the statement with every literal replaced by ``'?'`` and no
    parameters, so DEBUG shows what ran and how long it took, never the values (a digest, a
    sealed secret, a user's input)."""

    def filter(self, record: logging.LogRecord) -> bool:
        sql = getattr(record, "sql", None)
        if isinstance(sql, str):
            shape = _SQL_LITERAL.sub("'?'", sql)
            record.sql = shape
            record.params = REDACTED
            if isinstance(record.args, tuple) and len(record.args) == 4:
                duration, _sql, _params, alias = record.args
                record.args = (duration, shape, REDACTED, alias)
        return True


_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def mark_secret(value: str) -> None:
    """Redact ``value`` from every log line of this process from now on (values shorter than
    8 characters are not worth it: they would redact ordinary words)."""
    if len(value) >= 8:
        with _secrets_lock:
            _secrets.add(value)


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
            re.compile(
                r"(?i)\b(access_token|id_token|refresh_token|api_key|token|client_secret|"
                r"password|sessionid|csrftoken)=[^&\s\"';]+"
            ),
            rf"\1={REDACTED}",
        ),
        # A header's value in a dict, a "Name: value" line or an ASGI pair (b'name', b'value').
        (
            re.compile(
                r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key)"
                r"(\\?[\"']?\s*[:=]\s*\\?[\"']?|\\?[\"']?\s*,\s*b?\\?[\"'])[^\"'\\\r\n]+"
            ),
            rf"\1\2{REDACTED}",
        ),
        (
            re.compile(r"(?i)\b(requeststate\\?[\"']?\s*[:=]\s*\\?[\"']?)[^\"'\\\s,}]+"),
            rf"\1{REDACTED}",
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
    for secret in tuple(_secrets):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingJsonFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
