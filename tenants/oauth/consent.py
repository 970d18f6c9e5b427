"""The consent page's ticket: the request it was shown for, signed with a timestamp.

The consent form carries the authorization request in hidden fields, which the browser sends
back. The ticket binds them (tenant, client, redirect URI, state, PKCE challenge, resource)
so an altered form is refused, and dates them, so an answer given after
``BROKER_CONSENT_MAX_AGE`` seconds is refused too: the person is sent back to the client
with ``access_denied`` and nothing is issued."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core import signing

from mcpserver.conf import mcp_settings

_SIGNER = signing.TimestampSigner(salt="tenants.oauth.consent")
FIELDS = ("client_id", "redirect_uri", "state", "code_challenge", "resource")


def _bound(tenant_id: int, values: Mapping[str, Any]) -> str:
    def text(value: Any) -> str:
        return " ".join(value) if isinstance(value, list | tuple) else str(value or "")

    return json.dumps([tenant_id, *(text(values.get(name)) for name in FIELDS)])


def ticket(tenant_id: int, values: Mapping[str, Any]) -> str:
    """The ticket for a consent page showing the request ``values`` (the form's initial)."""
    return _SIGNER.sign(_bound(tenant_id, values))


@dataclass(frozen=True)
class Verdict:
    problem: str  # "" when the answer may be taken
    redirect_uri: str = ""  # where to send an expired answer (signed, so safe to redirect to)
    state: str = ""


def judge(tenant_id: int, posted: Mapping[str, Any]) -> Verdict:
    """Whether the posted consent form is the one this server showed, and still fresh."""
    signed = str(posted.get("consent_ticket", ""))
    expired = False
    try:
        value = _SIGNER.unsign(signed, max_age=int(mcp_settings.BROKER_CONSENT_MAX_AGE))
    except signing.SignatureExpired:
        value, expired = _SIGNER.unsign(signed), True
    except signing.BadSignature:
        return Verdict("The consent form is not one this server showed.")
    if value != _bound(tenant_id, posted):
        return Verdict("The consent form was altered.")
    if expired:
        _, _, redirect_uri, state, *_ = json.loads(value)
        return Verdict("expired", redirect_uri=redirect_uri, state=state)
    return Verdict("")
