from typing import Any

from django.core.management.base import CommandError, CommandParser

from tenants import selectors, services
from tenants.management.base import OpsCommand


class Command(OpsCommand):
    help = "Revoke an API key by its public id (ak_...)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key_id")

    def run(self, *, key_id: str, **options: Any) -> None:
        key = selectors.api_key_get(public_id=key_id)
        if key is None:
            raise CommandError(f"No API key {key_id!r}.")
        was_revoked = key.is_revoked
        services.api_key_revoke(key=key, actor=self.actor)
        state = "was already revoked" if was_revoked else "revoked"
        self.stdout.write(f"API key {key.public_id} ({key.tenant.slug}) {state}.")
