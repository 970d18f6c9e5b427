"""Re-encryption under the newest key, and purging what has expired.

Both work online: rotation replaces each envelope only if it is still the one that was read
(compare-and-set), so a concurrent write or delete wins and nobody is logged out.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from sessions_store.crypto import get_keyring
from sessions_store.store import Store

logger = logging.getLogger("sessions_store")

# Values sealed with the key ring outside the store (tenant secrets in the database): apps
# register a function that re-seals theirs and returns counts, so the store never imports them.
_resealers: dict[str, Callable[[], dict[str, int]]] = {}


def register_resealer(name: str, reseal: Callable[[], dict[str, int]]) -> None:
    """Have ``rotate_encryption_key`` call ``reseal`` too (configuration, set when apps load)."""
    _resealers[name] = reseal


def rotate_encryption_key(*, store: Store) -> dict[str, int]:
    """Re-seals every live entry and event not already sealed by the first key, and whatever
    the registered resealers hold."""
    keyring = get_keyring()
    backend = store.backend
    counts: Counter[str] = Counter()
    for name, envelope in backend.iter_entries():
        if keyring.sealed_by_primary(envelope):
            counts["entries_current"] += 1
            continue
        value = keyring.open(envelope, aad=name)
        if value is None:
            # Left alone: it expires by itself and nobody can read it anyway.
            counts["entries_unreadable"] += 1
            continue
        if backend.replace(name, old=envelope, new=keyring.seal(value, aad=name)):
            counts["entries_rotated"] += 1
        else:
            counts["entries_changed_meanwhile"] += 1
    for stream, events in backend.iter_logs():
        if all(keyring.sealed_by_primary(envelope) for _, envelope in events):
            counts["logs_current"] += 1
            continue
        resealed = []
        for event_id, envelope in events:
            data = keyring.open(envelope, aad=stream)
            resealed.append(
                (event_id, envelope if data is None else keyring.seal(data, aad=stream))
            )
        if backend.replace_log(stream, old=events, new=resealed):
            counts["logs_rotated"] += 1
        else:
            counts["logs_changed_meanwhile"] += 1
    for reseal in _resealers.values():
        counts.update(reseal())
    logger.info("store rotation finished", extra={"counts": dict(counts)})
    return dict(counts)


def purge_expired(*, store: Store) -> dict[str, int]:
    counts = store.backend.purge()
    logger.info("store purge finished", extra={"counts": counts})
    return counts
