from typing import Any

from django.core.management.base import CommandError, CommandParser

from tenants import selectors, services
from tenants.management.base import OpsCommand
from tenants.services.retention import retention_days


class Command(OpsCommand):
    help = "Set how many days a tenant's audit rows are kept (default: the server's)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("days", help="a whole number of days, or default")

    def run(self, *, slug: str, days: str, **options: Any) -> None:
        tenant = selectors.tenant_get(slug=slug)
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        if days.strip() == "default":
            value = None
        elif days.strip().isdigit() and int(days) >= 1:
            value = int(days)
        else:
            raise CommandError(
                f"days: give a whole number of days (1 or more) or default, not {days!r}."
            )
        tenant = services.tenant_set_audit_retention(tenant=tenant, days=value, actor=self.actor)
        kept = retention_days(tenant)
        shown = "forever" if kept is None else f"{kept} days"
        self.stdout.write(
            f"{slug}: audit rows kept {shown}" + (" (default)" if value is None else "")
        )
