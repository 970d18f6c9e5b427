"""Public ids: a prefix and 12 random base32 characters (60 bits), never a row number.

A client cannot walk them, and the prefix says what an id names when it shows up in a log.
"""

import re
import secrets

_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_LENGTH = 12
REQUIREMENT_PREFIX = "req_"
TASK_PREFIX = "task_"


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))


def _pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(prefix)}[a-z2-7]{{{_LENGTH}}}$")


REQUIREMENT_ID_RE = _pattern(REQUIREMENT_PREFIX)
TASK_ID_RE = _pattern(TASK_PREFIX)


def looks_like(pattern: re.Pattern[str], value: str) -> bool:
    """A cheap format check, so a malformed id never costs a query."""
    return bool(pattern.match(value))


def new_requirement_id() -> str:
    return new_id(REQUIREMENT_PREFIX)


def new_task_id() -> str:
    return new_id(TASK_PREFIX)
