from typing import Any

from django.core.management.base import CommandError, CommandParser

from mcpserver.conf import mcp_settings
from tenants import selectors, services
from tenants.auth.revocation import held_revocations
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
        with held_revocations() as held:
            services.api_key_revoke(key=key, actor=self.actor)
        state = "was already revoked" if was_revoked else "revoked"
        self.stdout.write(f"API key {key.public_id} ({key.tenant.slug}) {state}.")
        if held:
            self.stderr.write(
                "Redis could not be reached: the key's cached entries were not deleted there. "
                "The revocation is recorded in the database and in force on every instance "
                f"within {mcp_settings.REVOCATION_CHECK_INTERVAL:g} s; the entries go when Redis "
                "answers an instance again, or expire."
            )
