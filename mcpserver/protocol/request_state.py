"""``requestState`` for 2026-07-28 multi round-trip requests: sealed, bound and short-lived.

The state travels through the client, so it is sealed with the store's AEAD key ring. The
associated data binds it to the caller (principal fingerprint and tenant) and to the original
request (method, target name and a digest of the arguments); the sealed payload carries an
expiry. Anything that does not open, or opens for another caller, request or time, is refused
with -32602 and never reaches a tool.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from typing import Any

from mcpserver.conf import mcp_settings
from mcpserver.errors import InvalidParams
from sessions_store.crypto import get_keyring
from tenants.principal import Principal

_PREFIX = "rs1."


def _aad(principal: Principal, method: str, target: str, arguments: Any) -> bytes:
    digest = hashlib.sha256(
        json.dumps(arguments, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return "|".join(
        (
            "mcp-request-state",
            str(principal.tenant_id),
            principal.fingerprint,
            method,
            target,
            digest,
        )
    ).encode()


def seal(*, principal: Principal, method: str, target: str, arguments: Any, state: Any) -> str:
    payload = json.dumps(
        {"exp": int(time.time()) + int(mcp_settings.REQUEST_STATE_TTL), "s": state},
        separators=(",", ":"),
    ).encode()
    envelope = get_keyring().seal(payload, aad=_aad(principal, method, target, arguments))
    return _PREFIX + base64.urlsafe_b64encode(envelope).decode().rstrip("=")


def open_state(
    token: Any, *, principal: Principal, method: str, target: str, arguments: Any
) -> Any:
    refused = InvalidParams("Invalid requestState: it was changed, expired or is not yours")
    if not isinstance(token, str) or not token.startswith(_PREFIX) or len(token) > 65_536:
        raise refused
    body = token[len(_PREFIX) :]
    try:
        envelope = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise refused from None
    plaintext = get_keyring().open(envelope, aad=_aad(principal, method, target, arguments))
    if plaintext is None:
        raise refused
    try:
        payload = json.loads(plaintext)
    except ValueError:
        raise refused from None
    if not isinstance(payload, dict) or int(payload.get("exp", 0)) < time.time():
        raise refused
    return payload.get("s")
