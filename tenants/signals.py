"""Events other apps react to; sent only after the change that caused them committed.

``tools_changed`` (keyword ``tenant_id``): a tenant's tool selection changed. The tools app
turns it into ``notifications/tools/list_changed`` for every listening client of the tenant
(tenants cannot reach the protocol's Channels groups themselves: they sit below them).
"""

import logging
from functools import partial

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

tools_changed = Signal()


def _send_tools_changed(tenant_id: int) -> None:
    # The change is committed already: a receiver that fails (the Channels layer is down) is
    # logged, never raised to whoever made the change. Clients see it on their next list.
    for receiver, result in tools_changed.send_robust(sender=None, tenant_id=tenant_id):
        if isinstance(result, Exception):
            logger.warning(
                "tool list change of tenant %s not announced (%s: %s)",
                tenant_id,
                getattr(receiver, "__qualname__", receiver),
                type(result).__name__,
            )


def tools_changed_on_commit(tenant_id: int) -> None:
    """Announce, once the current transaction commits, that the tenant's tools changed."""
    transaction.on_commit(partial(_send_tools_changed, tenant_id))
