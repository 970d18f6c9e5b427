import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from tenants import selectors, services
from tenants.management.base import OpsCommand


class Command(OpsCommand):
    stealth_options = ("stdin",)
    help = (
        "Give a tenant a tool that calls an HTTP API, from a JSON specification (name, "
        "description, input_schema, method, url template, query and body mapping, headers "
        "with {secret:NAME} references, timeout, response): see the README, 'Upstream HTTP "
        "APIs'. `-` reads the specification from standard input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--spec", required=True, metavar="FILE.json")

    def run(self, *, slug: str, spec: str, **options: Any) -> None:
        tenant = selectors.tenant_get(slug=slug)
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        try:
            if spec == "-":
                text = (options.get("stdin") or sys.stdin).read()
            else:
                text = Path(spec).read_text()
        except OSError as exc:
            raise CommandError(f"Cannot read {spec}: {exc.strerror}.") from exc
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"{spec} is not JSON: {exc}.") from exc
        tool = services.http_tool_create(tenant=tenant, spec=document, actor=self.actor)
        self.stdout.write(f"HTTP tool {tool.name} added to {tenant.slug}.")
