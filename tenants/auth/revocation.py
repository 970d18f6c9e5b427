"""Cache invalidation after a credential, tenant or provider changes.

Called by ``tenants.services`` inside their transaction; the groups are cleared when it
commits (never for a change that rolled back), on every instance within a second.
"""

import logging
from functools import partial

from django.db import transaction

from sessions_store.store import get_store

logger = logging.getLogger(__name__)


def _delete_groups(groups: tuple[str, ...]) -> None:
    store = get_store()
    for group in groups:
        store.delete_group(group)
    logger.info("auth caches cleared: %s", ", ".join(groups))


def clear_groups_on_commit(*groups: str) -> None:
    transaction.on_commit(partial(_delete_groups, groups))
