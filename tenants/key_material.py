"""API key material: generation, the cheap format check, and the digest that is stored."""

import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

from mcpserver.conf import mcp_settings

# secrets.token_urlsafe(32) encodes 32 random bytes as 43 URL-safe characters.
SECRET_BYTES = 32
_SECRET_CHARS = 43


@dataclass(frozen=True, repr=False)
class NewKey:
    raw: str
    digest: str
    last_four: str

    def __repr__(self) -> str:  # never print the raw key
        return f"<NewKey …{self.last_four}>"


@lru_cache(maxsize=8)
def _format_re(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(prefix)}[A-Za-z0-9_-]{{{_SECRET_CHARS}}}$")


def generate_key() -> NewKey:
    raw = mcp_settings.API_KEY_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    return NewKey(raw=raw, digest=digest_of(raw), last_four=raw[-4:])


def generate_public_id() -> str:
    return "ak_" + secrets.token_hex(8)


def digest_of(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def looks_like_api_key(candidate: str) -> bool:
    """The format check done before any lookup, so junk never reaches the database."""
    return bool(_format_re(mcp_settings.API_KEY_PREFIX).match(candidate))
