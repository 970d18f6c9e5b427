"""Rate limits as operators write them: ``N/PERIOD`` with PERIOD ``s``, ``min``, ``h`` or ``day``.

A tenant's setting is one of three things: blank (follow ``MCP_SERVER``'s default), ``off``
(no limit, whatever the default) or a rate. Parsing is pure and shared by the model's field
validators, the admin form, the service, the command and the request path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

PERIODS = {"s": 1, "min": 60, "h": 3600, "day": 86400}
OFF = "off"
# A request count above this is a typo, not a limit (and keeps the arithmetic in Redis exact).
MAX_COUNT = 1_000_000_000

_RATE_RE = re.compile(r"^([0-9]{1,10})/(s|min|h|day)$")


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` requests per ``period`` seconds."""

    count: int
    period: int

    @property
    def interval(self) -> float:
        """Seconds between requests at the sustained rate (the GCRA emission interval)."""
        return self.period / self.count

    def __str__(self) -> str:
        unit = next(name for name, seconds in PERIODS.items() if seconds == self.period)
        return f"{self.count}/{unit}"

    def describe(self) -> str:
        unit = {"s": "second", "min": "minute", "h": "hour", "day": "day"}[str(self).split("/")[1]]
        noun = "request" if self.count == 1 else "requests"
        return f"{self.count} {noun} per {unit}"


def parse_rate(text: str) -> Rate:
    """``N/PERIOD`` as a ``Rate``; raises ``ValidationError`` with a message for a person."""
    found = _RATE_RE.match(text)
    if found is None:
        raise ValidationError(
            f"{text[:40]!r} is not a rate: write N/PERIOD with PERIOD s, min, h or day "
            "(e.g. 100/min), or off.",
            code="invalid_rate",
        )
    count = int(found.group(1))
    if not 1 <= count <= MAX_COUNT:
        raise ValidationError(
            f"The request count must be between 1 and {MAX_COUNT:,}.", code="invalid_rate"
        )
    return Rate(count=count, period=PERIODS[found.group(2)])


def validate_rate_setting(value: str) -> None:
    """A stored setting: blank (the default), ``off``, or ``N/PERIOD``."""
    if value in ("", OFF):
        return
    parse_rate(value)


def effective(setting: str, default: str | None) -> Rate | None:
    """The rate in force for a stored ``setting``; blank follows ``default`` (None or "off":
    no limit). Raises ``ValidationError`` for a malformed default, which the system check
    reports at start."""
    value = setting or (default or OFF)
    return None if value == OFF else parse_rate(value)
