"""Which era a message belongs to, and what every stateless request must carry.

Pure functions of the message and the two HTTP headers that matter, shared by the HTTP
endpoint and stdio (which has no headers and passes none).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcpserver.eras import (
    META_CAPABILITIES,
    META_VERSION,
    SESSION_VERSIONS,
    STATELESS_VERSIONS,
    SUPPORTED_VERSIONS,
    Era,
)
from mcpserver.errors import InvalidRequestMeta, UnsupportedProtocolVersion
from mcpserver.protocol.jsonrpc import Message


def _meta(message: Message) -> Mapping[str, Any] | None:
    meta = (message.params or {}).get("_meta")
    return meta if isinstance(meta, Mapping) else None


def classify(
    message: Message, *, version_header: str | None = None, session_id: str | None = None
) -> Era:
    """A message naming a stateless version (header or ``_meta``) is stateless; ``initialize``
    and anything in a session is not; a request with an unknown version header is stateless,
    so that it is refused with the supported versions."""
    meta = _meta(message)
    if version_header in STATELESS_VERSIONS or (meta is not None and META_VERSION in meta):
        return Era.STATELESS
    if message.method == "initialize" or session_id is not None:
        return Era.SESSION
    if version_header is None or version_header in SESSION_VERSIONS:
        return Era.SESSION
    return Era.STATELESS if message.kind == "request" else Era.SESSION


def declared_version(message: Message) -> str:
    """The version a stateless request declares in ``_meta``, beside its client capabilities."""
    meta = _meta(message)
    if (
        meta is None
        or not isinstance(meta.get(META_VERSION), str)
        or not isinstance(meta.get(META_CAPABILITIES), dict)
    ):
        raise InvalidRequestMeta()
    version: str = meta[META_VERSION]
    return version


def require_supported(version: str) -> None:
    if version not in STATELESS_VERSIONS:
        raise UnsupportedProtocolVersion(requested=version, supported=list(SUPPORTED_VERSIONS))
