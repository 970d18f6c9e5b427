from typing import Any

from django.core.management.base import CommandError

from mcpserver.conf import mcp_settings
from tenants.auth import keystatus
from tenants.management.base import OpsCommand


class Command(OpsCommand):
    help = (
        "Exit 1 naming every enabled identity provider whose signing keys were not refreshed "
        "for longer than JWKS_CACHE_TTL (each also logged as an alert)."
    )

    def run(self, **options: Any) -> None:
        stale = keystatus.find_stale()
        for item in stale:
            age = "never" if item.age_seconds is None else f"{item.age_seconds:.0f} s ago"
            self.stderr.write(
                f"{item.label}: keys last refreshed {age}; {item.error or 'no error recorded'}"
            )
        if stale:
            raise CommandError(
                f"{len(stale)} provider(s) without fresh keys for over "
                f"{mcp_settings.JWKS_CACHE_TTL} s."
            )
        self.stdout.write("Every enabled provider's keys are fresh.")
