"""Re-encrypt every live store entry under the first key of MCP_ENCRYPTION_KEYS."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_store import census
from sessions_store.crypto import get_keyring
from sessions_store.maintenance import rotate_encryption_key
from sessions_store.store import get_store


class Command(BaseCommand):
    help = (
        "Step 3 of a key rotation (README, 'Rotating the encryption key'): once every instance "
        "runs with the new key first in MCP_ENCRYPTION_KEYS, re-encrypt every live entry "
        "under it. Online: nobody is logged out. Refuses while a running instance cannot "
        "decrypt the new key or still encrypts with an old one. When it reports no entries "
        "left under old keys, the old keys can be removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Rotate even though running instances report key rings that are not ready.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        keyring = get_keyring()
        self.stdout.write(f"this command's key ring: {census.describe(keyring)}")
        members = census.live_members()
        blockers = census.not_ready_to_rotate(keyring, members)
        if blockers and not options["force"]:
            raise CommandError(
                "not rotating, nothing changed: "
                + "; ".join(blockers)
                + ". Give every instance the same MCP_ENCRYPTION_KEYS, new key first, then "
                "run this again (a stopped instance's report expires by itself)."
            )
        if not members:
            self.stdout.write("no running instance has reported its key ring")
        counts = rotate_encryption_key(store=get_store())
        for name in sorted(counts):
            self.stdout.write(f"{name}: {counts[name]}")
        if not counts:
            self.stdout.write("nothing stored")
