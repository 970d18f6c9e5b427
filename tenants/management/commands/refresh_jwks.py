from typing import Any

from django.core.management.base import CommandError, CommandParser

from tenants.auth import keystatus
from tenants.management.base import OpsCommand


class Command(OpsCommand):
    help = "Fetch every enabled identity provider's signing keys now and share them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider-id", type=int, default=None)

    def run(self, *, provider_id: int | None, **options: Any) -> None:
        results = keystatus.refresh_enabled(provider_id=provider_id)
        failed = 0
        for label, outcome in results:
            if outcome.ok:
                self.stdout.write(f"{label}: {len(outcome.key_ids)} key(s)")
            else:
                failed += 1
                self.stderr.write(f"{label}: {outcome.error}")
        if failed:
            raise CommandError(f"{failed} of {len(results)} provider(s) failed.")
        self.stdout.write(f"Refreshed {len(results)} provider(s).")
