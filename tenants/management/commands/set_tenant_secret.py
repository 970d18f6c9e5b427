import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser

from tenants import selectors, services
from tenants.management.base import OpsCommand


def read_value(stream: Any) -> str:
    """The value as typed or piped: one trailing line break is not part of it."""
    value = stream.read(8193)
    if value.endswith("\r\n"):
        return str(value[:-2])
    return str(value[:-1] if value.endswith("\n") else value)


class Command(OpsCommand):
    stealth_options = ("stdin",)
    help = (
        "Set (or replace) a tenant secret, referenced as {secret:NAME} in upstream headers. "
        "The value is read from standard input, never from the command line: "
        '`printf %s "$TOKEN" | manage.py set_tenant_secret SLUG NAME`, or type it and end '
        "with Ctrl-D. It is stored encrypted and cannot be shown again."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        refuse = parser.error

        def error(message: str) -> Any:
            # "unrecognized arguments: <the value>" would echo a secret typed by mistake.
            if message.startswith("unrecognized arguments"):
                message = "the value is read from standard input, never from the command line"
            refuse(message)

        parser.error = error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("name")

    def run(self, *, slug: str, name: str, **options: Any) -> None:
        tenant = selectors.tenant_get(slug=slug)
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        stream = options.get("stdin") or sys.stdin
        if stream.isatty():
            self.stderr.write("Type the secret value, then Ctrl-D:")
        value = read_value(stream)
        secret = services.tenant_secret_set(tenant=tenant, name=name, value=value, actor=self.actor)
        hint = f" (ends …{secret.last_four})" if secret.last_four else ""
        self.stdout.write(f"Secret {secret.name} of {tenant.slug} set{hint}.")
