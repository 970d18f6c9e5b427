"""The one decision on scopes: ``authorize`` decides, audits and raises.

The MCP dispatcher calls it before running a tool, reading a resource or getting a prompt.
A refusal is an ``InsufficientScope`` naming every scope the operation needs, carrying its
``insufficient_scope`` challenge; the audit record is written before the refusal is raised,
so it exists by the time the client reads the 403.
"""

from collections.abc import Iterable

from channels.db import database_sync_to_async

from mcpserver.errors import InsufficientScope
from tenants.auth import auditing
from tenants.auth.challenges import insufficient_scope_challenge
from tenants.principal import Principal
from tenants.snapshots import AnyTenant


async def authorize(
    *,
    tenant: AnyTenant,
    principal: Principal,
    needed: Iterable[str],
    client_ip: str | None = None,
) -> None:
    required = frozenset(needed)
    if not required or principal.has_scopes(required):
        return
    # In the database thread no loop runs, so the audit write happens there, awaited here.
    await database_sync_to_async(auditing.scope_refused)(
        tenant=tenant, principal=principal, needed=required, client_ip=client_ip
    )
    raise InsufficientScope(required).with_challenge(insufficient_scope_challenge(tenant, required))
