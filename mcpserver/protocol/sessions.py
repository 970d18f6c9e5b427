"""Session-era (2025-11-25 and older) sessions and their stream logs, in the shared store.

All of it lives in the shared store, so the next request of a session may land on any
instance: the session (bound to the principal that created it) and each stream's event log
for ``Last-Event-ID`` replay. ``relay`` carries what crosses between instances.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mcpserver.conf import mcp_settings
from sessions_store.store import get_store
from tenants.auth.revocation import subject_group
from tenants.principal import Principal


def _key(tenant_id: int, session_id: str) -> str:
    return f"mcp:session:{tenant_id}:{session_id}"


def events_key(tenant_id: int, stream: str) -> str:
    return f"mcp:events:{tenant_id}:{stream}"


def new_session(
    principal: Principal, version: str, capabilities: dict[str, Any], client_info: Any = None
) -> dict[str, Any]:
    client = client_info if isinstance(client_info, dict) else {}
    return {
        "principal": principal.fingerprint,
        "version": version,
        "capabilities": capabilities,
        # Name and version from initialize's clientInfo, for the audit record of each call.
        "client": {k: v[:100] for k in ("name", "version") if isinstance(v := client.get(k), str)},
        # Signing the subject out everywhere deletes the session with its cached principals.
        "groups": [subject_group(principal.tenant_id, principal.subject)],
        "log_level": None,
        "subscriptions": [],
        "created": int(time.time()),
    }


async def load(tenant_id: int, session_id: str, principal: Principal) -> dict[str, Any] | None:
    """The session, or None when unknown, ended, or created by another credential.

    Raises ``sessions_store.errors.StoreUnavailable`` (a 503) when the store is down: the
    session may well exist, and the client must retry rather than start a new one.
    """
    if len(session_id) > 128:
        return None
    session = await get_store().aget_json(_key(tenant_id, session_id), strict=True)
    if not isinstance(session, dict):
        return None
    if not hmac.compare_digest(str(session.get("principal", "")), principal.fingerprint):
        return None
    return session


def touch(session: dict[str, Any]) -> None:
    """Mark a session in use; it is written back (extending its life) at most every TTL/4."""
    now = int(time.time())
    if now - int(session.get("touched", session.get("created", 0))) > mcp_settings.SESSION_TTL / 4:
        session["touched"] = now


async def save(
    tenant_id: int, session_id: str, session: dict[str, Any], *, strict: bool = False
) -> None:
    """``strict`` (a new session): raise ``StoreUnavailable`` rather than hand out a session id
    that was never stored."""
    await get_store().aset_json(
        _key(tenant_id, session_id),
        session,
        ttl=float(mcp_settings.SESSION_TTL),
        groups=[g for g in session.get("groups", ()) if isinstance(g, str)],
        strict=strict,
    )


async def end(tenant_id: int, session_id: str) -> None:
    await get_store().adelete(_key(tenant_id, session_id))


def new_stream_id(session_id: str) -> str:
    # Stream names carry the session so a Last-Event-ID can only replay its own session.
    return f"{session_id}.{secrets.token_urlsafe(9)}"


def stream_logger(tenant_id: int, stream: str) -> Callable[[bytes], Awaitable[str | None]]:
    async def log(data: bytes) -> str | None:
        event_id = await get_store().alog_append(
            events_key(tenant_id, stream), data, ttl=float(mcp_settings.SESSION_TTL)
        )
        # Not in the log (the shared tier is down): sent without an id, not resumable.
        return f"{stream}/{event_id}" if event_id else None

    return log
