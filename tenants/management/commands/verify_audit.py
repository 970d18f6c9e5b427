from typing import Any

from django.core.management.base import CommandError, CommandParser

from tenants import auditchain, selectors
from tenants.management.base import OpsCommand


class Command(OpsCommand):
    help = "Check a tenant's audit hash chain; exit 1 naming the first broken link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def run(self, *, slug: str, **options: Any) -> None:
        tenant = selectors.tenant_get(slug=slug)
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        verdict = auditchain.verify(tenant.pk)
        if not verdict.intact:
            raise CommandError(
                f"Audit chain of {slug} broken after {verdict.rows} good rows: {verdict.broken}"
            )
        trimmed = (
            f" (seq 1-{verdict.trimmed_through} trimmed by retention)"
            if verdict.trimmed_through
            else ""
        )
        self.stdout.write(
            f"Audit chain of {slug} intact: {verdict.rows} rows, head digest "
            f"{verdict.head_digest}{trimmed}"
        )
