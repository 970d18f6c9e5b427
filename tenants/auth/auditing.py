"""What authentication writes to the audit log, without letting a flood fill it.

Failed authentications and scope refusals are capped per source address and per tenant
(``auditbudget``); the rest are counted and the counts ride on the next record written. The
first use of a credential on an instance is recorded once. Writes happen off the event loop,
and client-supplied text reaches a record only in its own field, ``client_text``, cleaned and
bounded like every other value (``tenants.audit``).
"""

from collections import OrderedDict
from typing import Any

from mcpserver.process import process_state
from mcpserver.refusals import AuthFailure
from tenants.audit import Actor, audit_record
from tenants.auth import auditbudget, background
from tenants.models import AuditLog
from tenants.principal import Principal
from tenants.snapshots import AnyTenant

_MAX_SEEN = 50_000
_MAX_CLIENT_TEXT = 200

_seen: OrderedDict[str, None] = process_state.ordered("auditing.seen")


def _actor(client_ip: str | None) -> Actor:
    return Actor(name="mcp-client", client_ip=client_ip)


def _grant(tenant: AnyTenant | None, client_ip: str | None) -> auditbudget.Grant | None:
    return auditbudget.take(source=client_ip or "-", tenant=str(tenant.pk) if tenant else "-")


def _with_counts(details: dict[str, Any], grant: auditbudget.Grant) -> dict[str, Any]:
    if grant.suppressed:
        details["suppressed"] = grant.suppressed
    if grant.suppressed_for_tenant:
        details["suppressed_for_tenant"] = grant.suppressed_for_tenant
    return details


def _write(grant: auditbudget.Grant, **record: Any) -> None:
    try:
        audit_record(**record)
    except Exception:
        auditbudget.give_back(grant)
        raise  # background._run logs it


def failure(*, tenant: AnyTenant | None, client_ip: str | None, failure: AuthFailure) -> None:
    grant = _grant(tenant, client_ip)
    if grant is None:
        return
    details: dict[str, Any] = {"error": failure.error or "missing", "reason": failure.reason}
    if failure.client_text:
        # Quoted, so a reader never mistakes it for the server's words; cleaned in audit_record.
        details["client_text"] = repr(failure.client_text[:_MAX_CLIENT_TEXT])
    background.spawn(
        _write,
        grant,
        actor=_actor(client_ip),
        action="auth.failure",
        tenant=tenant,
        target=tenant.slug if tenant else "",
        outcome=AuditLog.Outcome.FAILURE,
        details=_with_counts(details, grant),
    )


def scope_refused(
    *, tenant: AnyTenant, principal: Principal, needed: frozenset[str], client_ip: str | None
) -> None:
    grant = _grant(tenant, client_ip)
    if grant is None:
        return
    details: dict[str, Any] = {
        "subject": principal.subject,
        "needed": sorted(needed),
        "missing": sorted(principal.missing_scopes(needed)),
    }
    background.spawn(
        _write,
        grant,
        actor=_actor(client_ip),
        action="auth.insufficient_scope",
        tenant=tenant,
        target=principal.credential_id or principal.subject,
        outcome=AuditLog.Outcome.DENIED,
        details=_with_counts(details, grant),
    )


def first_use(*, tenant: AnyTenant, principal: Principal, client_ip: str | None) -> None:
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
