from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from mcpserver.conf import mcp_settings
from tenants import selectors, services
from tenants.management.base import OpsCommand, validation_message
from tenants.models import Tenant
from tenants.ratelimit_rates import OFF, validate_rate_setting

DEFAULT = "default"
VALUES = "N/PERIOD (PERIOD s, min, h or day), off (no limit) or default (the server's)"


def _setting(option: str, value: str | None) -> str | None:
    """The value to store for ``--option VALUE`` (None: not given)."""
    if value is None:
        return None
    value = value.strip()
    stored = "" if value == DEFAULT else value
    try:
        if not value:  # blank is how the default is stored, not how it is asked for
            raise ValidationError(f"give {VALUES}")
        validate_rate_setting(stored)
    except ValidationError as exc:
        raise CommandError(f"{option}: {validation_message(exc)}") from exc
    return stored


def _shown(setting: str, default: str | None) -> str:
    if setting:
        return setting
    return f"{default or OFF} (default)"


class Command(OpsCommand):
    help = (
        "Set a tenant's rate limits on /mcp/<slug>: for the tenant as a whole and per "
        "credential. With neither option, print them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--tenant", dest="tenant_limit", metavar="RATE", help=VALUES)
        parser.add_argument("--credential", dest="credential_limit", metavar="RATE", help=VALUES)

    def run(
        self, *, slug: str, tenant_limit: str | None, credential_limit: str | None, **options: Any
    ) -> None:
        tenant_setting = _setting("--tenant", tenant_limit)
        credential_setting = _setting("--credential", credential_limit)
        tenant: Tenant | None = selectors.tenant_get(slug=slug)
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        if tenant_setting is not None or credential_setting is not None:
            tenant = services.tenant_set_rate_limits(
                tenant=tenant,
                tenant_limit=tenant_setting,
                credential_limit=credential_setting,
                actor=self.actor,
            )
        self.stdout.write(
            f"{tenant.slug}: tenant "
            f"{_shown(tenant.rate_limit_tenant, mcp_settings.RATE_LIMIT_TENANT)}, per credential "
            f"{_shown(tenant.rate_limit_credential, mcp_settings.RATE_LIMIT_CREDENTIAL)}"
        )
