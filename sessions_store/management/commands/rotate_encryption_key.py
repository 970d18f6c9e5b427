"""Re-encrypt every live store entry under the first key of MCP_ENCRYPTION_KEYS."""

from typing import Any

from django.core.management.base import BaseCommand

from sessions_store.maintenance import rotate_encryption_key
from sessions_store.store import get_store


class Command(BaseCommand):
    help = (
        "After putting a new key first in MCP_ENCRYPTION_KEYS (keeping the old ones after it), "
        "re-encrypt every live entry under it. Online: nobody is logged out. When it reports "
        "no entries left under old keys, the old keys can be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = rotate_encryption_key(store=get_store())
        for name in sorted(counts):
            self.stdout.write(f"{name}: {counts[name]}")
        if not counts:
            self.stdout.write("nothing stored")
