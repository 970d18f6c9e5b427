"""Remove expired store entries, events and stale group members."""

from typing import Any

from django.core.management.base import BaseCommand

from sessions_store.maintenance import purge_expired
from sessions_store.store import get_store


class Command(BaseCommand):
    help = "Remove what has expired from the shared store (database rows, stale Redis groups)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = purge_expired(store=get_store())
        for name in sorted(counts):
            self.stdout.write(f"{name}: {counts[name]}")
