from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from tenants import selectors, services
from tenants.management.base import OpsCommand
from tenants.models import Tenant
from tenants.services.retention import retention_cutoff


class Command(OpsCommand):
    help = (
        "Trim audit rows older than each tenant's retention from the start of its hash chain "
        "(every tenant and the rows without one, or one tenant); the same job as the Celery "
        "task tenants.apply_audit_retention."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="?", default=None)

    def run(self, *, slug: str | None, **options: Any) -> None:
        if slug is not None:
            tenant = selectors.tenant_get(slug=slug)
            if tenant is None:
                raise CommandError(f"No tenant {slug!r}.")
            chains: list[Tenant | None] = [tenant]
        else:
            chains = [*Tenant.objects.order_by("pk"), None]
        now = timezone.now()
        for tenant in chains:
            label = tenant.slug if tenant is not None else "(no tenant)"
            cutoff = retention_cutoff(tenant, now=now)
            if cutoff is None:
                self.stdout.write(f"{label}: kept forever")
                continue
            result = services.audit_trim(tenant=tenant, before=cutoff, actor=self.actor)
            self.stdout.write(
                f"{label}: {result.rows} row(s) older than {cutoff:%Y-%m-%d} trimmed"
                + (f", chain anchored at seq {result.through_seq}" if result.through_seq else "")
            )
