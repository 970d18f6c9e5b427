"""Cache invalidation after a credential, tenant or provider changes.

Called by ``tenants.services`` inside their transaction. The revocation is written to the
database ledger in that transaction (``tenants.auth.ledger``: every instance sees it within
``REVOCATION_CHECK_INTERVAL``, whatever happens to Redis), and the groups are deleted from the
shared store when it commits (never for a change that rolled back), so a healthy Redis drops
them on every instance at once.
"""

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from functools import partial

from django.db import transaction

from mcpserver.conf import mcp_settings
from sessions_store.errors import StoreUnavailable
from sessions_store.store import get_store
from tenants.auth import ledger

logger = logging.getLogger(__name__)

# Groups whose deletion from the shared store was only held for retry, for the caller that
# asked to know (``held_revocations``).
_held: ContextVar[list[str] | None] = ContextVar("held_revocations", default=None)


def _delete_groups(groups: tuple[str, ...]) -> None:
    store = get_store()
    held = []
    for group in groups:
        try:
            store.delete_group(group, strict=True)
        except StoreUnavailable:
            held.append(group)
    if held:
        logger.error(
            "shared store unavailable: cache deletion of %s held for retry; the revocation is "
            "in force on every instance within %s s (recorded in the database)",
            ", ".join(held),
            mcp_settings.REVOCATION_CHECK_INTERVAL,
        )
        collected = _held.get()
        if collected is not None:
            collected.extend(held)
    logger.info("auth caches cleared: %s", ", ".join(groups))


def clear_groups_on_commit(*groups: str) -> None:
    ledger.record(groups)
    transaction.on_commit(partial(_delete_groups, groups))


@contextlib.contextmanager
def held_revocations() -> Iterator[list[str]]:
    """Collects the groups, revoked inside the block, that the shared store did not receive."""
    collected: list[str] = []
    token = _held.set(collected)
    try:
        yield collected
    finally:
        _held.reset(token)


def subject_group(tenant_id: int, subject: str) -> str:
    """The group of everything cached for one subject at one tenant (principals, legacy
    sessions): what "sign out everywhere" clears. Hashed, so any subject fits the ledger."""
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"subject:{tenant_id}:{digest}"


def grant_group(tenant_id: int, family: str) -> str:
    """The group of the broker's access tokens issued from one refresh-token family (one
    grant) at one tenant: what revoking the grant, or replaying its old refresh token, clears.
    Hashed like the subject group: the claim is the token's word, any length."""
    digest = hashlib.sha256(family.encode()).hexdigest()[:32]
    return f"grant:{tenant_id}:{digest}"


def client_group(tenant_id: int, client_id: str) -> str:
    """The group of the broker's access tokens issued to one client at one tenant: what
    revoking the client there clears (a metadata-document client id is a whole URL)."""
    digest = hashlib.sha256(client_id.encode()).hexdigest()[:32]
    return f"client:{tenant_id}:{digest}"
