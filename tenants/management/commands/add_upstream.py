from typing import Any

from django.core.management.base import CommandError, CommandParser

from tenants import selectors, services
from tenants.management.base import OpsCommand, csv_list
from tenants.upstreams.spec import parse_header_option


class Command(OpsCommand):
    help = (
        "Attach a remote MCP server to a tenant: its tools, resources and prompts appear in "
        "the tenant's catalogue as NAME.tool, called with the headers given here (values may "
        "reference tenant secrets: --header 'Authorization=Bearer {secret:CRM_TOKEN}'), never "
        "with the client's own credentials."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("name", help="prefix of its tools: NAME.tool")
        parser.add_argument("--url", required=True, help="its MCP endpoint")
        parser.add_argument(
            "--header", action="append", default=[], metavar="NAME=VALUE", help="repeatable"
        )
        parser.add_argument(
            "--allow-private",
            action="store_true",
            help="let it be reached on a private or loopback address (a server in your network)",
        )
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds per call")
        parser.add_argument("--scopes", type=csv_list, default=[], help="scopes its tools need")

    def run(
        self,
        *,
        slug: str,
        name: str,
        url: str,
        header: list[str],
        allow_private: bool,
        timeout: float,
        scopes: list[str],
        **options: Any,
    ) -> None:
        tenant = selectors.tenant_get(slug=slug)
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        headers = dict(parse_header_option(option) for option in header)
        upstream = services.upstream_create(
            tenant=tenant,
            name=name,
            url=url,
            headers=headers,
            allow_private_network=allow_private,
            timeout=timeout,
            scopes=scopes,
            actor=self.actor,
        )
        self.stdout.write(
            f"Upstream {upstream.name} attached to {tenant.slug}: its tools appear as "
            f"{upstream.name}.TOOL once it has been listed."
        )
