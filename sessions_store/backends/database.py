"""The shared tier in the database: the embedded default, shared by the processes on a machine.

There is no broadcast channel here, so the process tier keeps a value at most
``process_cache_cap`` seconds (well under the one-second revocation bound); the database is
the source of truth and a delete is visible to every process once committed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from channels.db import database_sync_to_async
from django.db import transaction
from django.db.models import Q

from sessions_store.backends.base import Invalidations
from sessions_store.models import StoreEntry, StoreEvent, StoreGroupMember

# Half the revocation bound: another process's delete is seen within this plus a query.
DATABASE_PROCESS_CACHE_CAP = 0.5


def _key(name: bytes) -> str:
    return name.hex()


class DatabaseBackend:
    thread_sensitive = True
    process_cache_cap = DATABASE_PROCESS_CACHE_CAP

    def start(self, *, on_invalidate: Invalidations) -> None:
        return None

    def close(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def process_cache_allowed(self) -> bool:
        return True

    def read(self, name: bytes) -> tuple[bytes, float] | None:
        now = time.time()
        row = (
            StoreEntry.objects.filter(name=_key(name), expires_at__gt=now)
            .values_list("value", "expires_at")
            .first()
        )
        if row is None:
            return None
        return bytes(row[0]), row[1] - now

    async def aread(self, name: bytes) -> tuple[bytes, float] | None:
        result: tuple[bytes, float] | None = await database_sync_to_async(self.read)(name)
        return result

    @transaction.atomic
    def write(self, name: bytes, envelope: bytes, *, ttl: float, groups: list[bytes]) -> None:
        expires_at = time.time() + ttl
        StoreEntry.objects.update_or_create(
            name=_key(name), defaults={"value": envelope, "expires_at": expires_at}
        )
        for group in groups:
            member, created = StoreGroupMember.objects.get_or_create(
                group=_key(group), entry=_key(name), defaults={"expires_at": expires_at}
            )
            if not created and member.expires_at < expires_at:
                member.expires_at = expires_at
                member.save(update_fields=["expires_at"])

    def remove(self, name: bytes) -> None:
        StoreEntry.objects.filter(name=_key(name)).delete()

    @transaction.atomic
    def remove_group(self, group: bytes) -> int:
        members = StoreGroupMember.objects.filter(group=_key(group))
        entries = list(members.values_list("entry", flat=True))
        members.delete()
        deleted, _ = StoreEntry.objects.filter(
            name__in=entries, expires_at__gt=time.time()
        ).delete()
        StoreEntry.objects.filter(name__in=entries).delete()
        return deleted

    def log_append(self, stream: bytes, envelope: bytes, *, ttl: float) -> str:
        expires_at = time.time() + ttl
        with transaction.atomic():
            event = StoreEvent.objects.create(
                stream=_key(stream), data=envelope, expires_at=expires_at
            )
            # Appending keeps the whole log alive, as XADD + PEXPIRE does in Redis.
            StoreEvent.objects.filter(stream=_key(stream)).update(expires_at=expires_at)
        return str(event.pk)

    def log_read(self, stream: bytes, *, after: str | None) -> list[tuple[str, bytes]]:
        query = StoreEvent.objects.filter(stream=_key(stream), expires_at__gt=time.time())
        if after is not None:
            if not after.isdigit():
                return []
            query = query.filter(pk__gt=int(after))
        return [
            (str(pk), bytes(data)) for pk, data in query.order_by("pk").values_list("pk", "data")
        ]

    def iter_entries(self) -> Iterator[tuple[bytes, bytes]]:
        rows = StoreEntry.objects.filter(expires_at__gt=time.time()).values_list("name", "value")
        for name, value in rows.iterator(chunk_size=500):
            yield bytes.fromhex(name), bytes(value)

    def replace(self, name: bytes, *, old: bytes, new: bytes) -> bool:
        with transaction.atomic():
            row = StoreEntry.objects.select_for_update().filter(name=_key(name)).first()
            if row is None or bytes(row.value) != old:
                return False
            row.value = new
            row.save(update_fields=["value"])
            return True

    def iter_logs(self) -> Iterator[tuple[bytes, list[tuple[str, bytes]]]]:
        streams = (
            StoreEvent.objects.filter(expires_at__gt=time.time())
            .values_list("stream", flat=True)
            .distinct()
        )
        for stream in list(streams):
            name = bytes.fromhex(stream)
            yield name, self.log_read(name, after=None)

    def replace_log(
        self, stream: bytes, *, old: list[tuple[str, bytes]], new: list[tuple[str, bytes]]
    ) -> bool:
        # Rows are rewritten one by one; each compare-and-set keeps a concurrent change.
        replaced = False
        for (event_id, before), (_, after) in zip(old, new, strict=True):
            replaced |= bool(
                StoreEvent.objects.filter(pk=int(event_id), data=before).update(data=after)
            )
        return replaced

    def purge(self) -> dict[str, int]:
        now = time.time()
        entries, _ = StoreEntry.objects.filter(expires_at__lte=now).delete()
        members, _ = StoreGroupMember.objects.filter(
            Q(expires_at__lte=now) | ~Q(entry__in=StoreEntry.objects.values("name"))
        ).delete()
        events, _ = StoreEvent.objects.filter(expires_at__lte=now).delete()
        return {"entries": entries, "group_members": members, "events": events}
