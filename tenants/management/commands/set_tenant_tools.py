from typing import Any

from django.core.management.base import CommandError, CommandParser

from tenants import selectors, services
from tenants.management.base import OpsCommand, csv_list


class Command(OpsCommand):
    help = (
        "Choose a tenant's tool sets and disable or re-enable single tools of them, by the "
        "names tools/list shows (an upstream server's tools as NAME.tool). Every instance "
        "serves the new list at once and listening clients are told it changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument(
            "--toolsets", type=csv_list, default=None, help="the full list, e.g. builtin,workspace"
        )
        parser.add_argument("--enable-tools", type=csv_list, default=[], metavar="X,Y")
        parser.add_argument("--disable-tools", type=csv_list, default=[], metavar="X,Y")

    def run(
        self,
        *,
        slug: str,
        toolsets: list[str] | None,
        enable_tools: list[str],
        disable_tools: list[str],
        **options: Any,
    ) -> None:
        tenant = selectors.tenant_get(slug=slug)
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        if toolsets is None and not enable_tools and not disable_tools:
            raise CommandError(
                "Nothing to change: give --toolsets, --enable-tools or --disable-tools."
            )
        before = (list(tenant.enabled_toolsets), list(tenant.disabled_tools))
        services.tenant_set_tools(
            tenant=tenant,
            toolsets=toolsets,
            enable_tools=enable_tools,
            disable_tools=disable_tools,
            actor=self.actor,
        )
        state = (
            "unchanged" if before == (tenant.enabled_toolsets, tenant.disabled_tools) else "updated"
        )
        sets = ", ".join(tenant.enabled_toolsets) or "(none)"
        disabled = ", ".join(tenant.disabled_tools) or "(none)"
        self.stdout.write(
            f"Tenant {tenant.slug} {state}: tool sets {sets}; disabled tools {disabled}."
        )
