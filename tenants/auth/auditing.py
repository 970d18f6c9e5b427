"""What authentication writes to the audit log, without letting a flood fill it.

Failed authentications and scope refusals are recorded at most
``AUTH_FAILURE_AUDIT_PER_MINUTE`` times per source address per minute on one instance; the
rest are counted and the count rides on the next record written for that address. The first
use of a credential on an instance is recorded once. Writes happen off the event loop.
"""

import time
from collections import OrderedDict

from mcpserver.conf import mcp_settings
from mcpserver.errors import AuthFailure
from mcpserver.process import process_state
from tenants.audit import Actor, audit_record
from tenants.auth import background
from tenants.models import AuditLog, Tenant
from tenants.principal import Principal

_WINDOW = 60.0
_MAX_SOURCES = 10_000
_MAX_SEEN = 50_000

# source address -> [window start, records written in window, records suppressed]
_budget: dict[str, list[float]] = process_state.cache("auditing.budget")
_seen: OrderedDict[str, None] = process_state.ordered("auditing.seen")


def _allow(source: str) -> int | None:
    """None when this source is over budget, else how many records were suppressed before."""
    now = time.monotonic()
    entry = _budget.get(source)
    if entry is None or now - entry[0] >= _WINDOW:
        if len(_budget) >= _MAX_SOURCES:
            _budget.clear()
        suppressed = int(entry[2]) if entry else 0
        _budget[source] = [now, 1, 0]
        return suppressed
    if entry[1] >= mcp_settings.AUTH_FAILURE_AUDIT_PER_MINUTE:
        entry[2] += 1
        return None
    entry[1] += 1
    return 0


def _actor(client_ip: str | None) -> Actor:
    return Actor(name="mcp-client", client_ip=client_ip)


def failure(*, tenant: Tenant | None, client_ip: str | None, failure: AuthFailure) -> None:
    suppressed = _allow(client_ip or "-")
    if suppressed is None:
        return
    details: dict[str, object] = {
        "error": failure.error or "missing",
        "reason": failure.reason[:300],
    }
    if suppressed:
        details["suppressed"] = suppressed
    background.spawn(
        audit_record,
        actor=_actor(client_ip),
        action="auth.failure",
        tenant=tenant,
        target=tenant.slug if tenant else "",
        outcome=AuditLog.Outcome.FAILURE,
        details=details,
    )


def scope_refused(
    *, tenant: Tenant, principal: Principal, needed: frozenset[str], client_ip: str | None
) -> None:
    if _allow(client_ip or "-") is None:
        return
    background.spawn(
        audit_record,
        actor=_actor(client_ip),
        action="auth.insufficient_scope",
        tenant=tenant,
        target=principal.credential_id or principal.subject,
        outcome=AuditLog.Outcome.DENIED,
        details={
            "subject": principal.subject,
            "needed": sorted(needed),
            "missing": sorted(principal.missing_scopes(needed)),
        },
    )


def first_use(*, tenant: Tenant, principal: Principal, client_ip: str | None) -> None:
    """Record the first time this process accepts a credential (by fingerprint)."""
    if principal.fingerprint in _seen:
        return
    _seen[principal.fingerprint] = None
    if len(_seen) > _MAX_SEEN:
        _seen.popitem(last=False)
    background.spawn(
        audit_record,
        actor=_actor(client_ip),
        action="auth.first_use",
        tenant=tenant,
        target=principal.credential_id or principal.subject,
        details={
            "method": str(principal.auth_method),
            "subject": principal.subject,
            "fingerprint": principal.fingerprint[:16],
        },
    )
