from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from tenants import selectors, services
from tenants.management.base import OpsCommand, csv_list


def positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(value)
    return number


class Command(OpsCommand):
    help = "Create an API key. The raw key is printed once, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", type=csv_list, default=[])
        parser.add_argument("--expires-in-days", type=positive_int, default=None)

    def run(
        self,
        *,
        slug: str,
        name: str,
        scopes: list[str],
        expires_in_days: int | None,
        **options: Any,
    ) -> None:
        tenant = selectors.tenant_get(slug=slug)
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        key, raw = services.api_key_create(
            tenant=tenant, name=name, scopes=scopes, expires_at=expires_at, actor=self.actor
        )
        expiry = key.expires_at.isoformat() if key.expires_at else "never"
        self.stdout.write(f"Created API key {key.public_id} for {tenant.slug} (expires {expiry}).")
        self.stdout.write("Store it now; it cannot be shown again:")
        self.stdout.write(raw)
