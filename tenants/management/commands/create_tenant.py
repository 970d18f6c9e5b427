from typing import Any

from django.core.management.base import CommandParser

from tenants import services
from tenants.management.base import OpsCommand, csv_list


class Command(OpsCommand):
    help = "Create a tenant. Its MCP endpoint is /mcp/<slug>."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--toolsets", type=csv_list, default=None, help="e.g. builtin,conformance"
        )

    def run(self, *, slug: str, name: str, toolsets: list[str] | None, **options: Any) -> None:
        tenant = services.tenant_create(slug=slug, name=name, toolsets=toolsets, actor=self.actor)
        self.stdout.write(f"Created tenant {tenant.slug}: {tenant.resource_identifier}")
