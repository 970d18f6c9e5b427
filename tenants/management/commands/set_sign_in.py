import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser

from tenants import selectors, services
from tenants.management.base import OpsCommand
from tenants.models import Tenant
from tenants.oauth import issuer as broker
from tenants.portal.oidc import SignInUnavailable, discover


class Command(OpsCommand):
    help = (
        "Choose how a tenant's MCP clients get their tokens: broker (this server's "
        "authorization server, users signing in at the OpenID provider) or direct (the "
        "tenant's identity providers). With --oidc-issuer and --client-id, also set the "
        "OpenID Connect sign-in; its client secret is read from standard input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--mode", required=True, choices=["broker", "direct"])
        parser.add_argument("--oidc-issuer", dest="oidc_issuer")
        parser.add_argument("--client-id", dest="client_id")
        parser.add_argument(
            "--allow-private",
            action="store_true",
            help="Let discovery and token requests reach private and loopback addresses.",
        )

    def run(
        self,
        *,
        slug: str,
        mode: str,
        oidc_issuer: str | None,
        client_id: str | None,
        allow_private: bool,
        **options: Any,
    ) -> None:
        if bool(oidc_issuer) != bool(client_id):
            raise CommandError("Give --oidc-issuer and --client-id together.")
        tenant: Tenant | None = selectors.tenant_get(slug=slug)
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        if oidc_issuer and client_id:
            secret = "" if sys.stdin.isatty() else sys.stdin.read().strip()
            try:
                endpoints = discover(oidc_issuer, allow_private=allow_private)
            except SignInUnavailable as exc:
                raise CommandError(f"--oidc-issuer: {exc}") from exc
            services.portal_sign_in_set(
                tenant=tenant,
                issuer=oidc_issuer,
                client_id=client_id,
                client_secret=secret or None,
                endpoints=endpoints,
                allow_private_network=allow_private,
                actor=self.actor,
            )
        services.sign_in_set_mode(tenant=tenant, mode=mode, actor=self.actor)
        if mode == "broker":
            self.stdout.write(
                f"{tenant.slug}: broker mode, issuer {broker.issuer(tenant)} "
                f"(metadata {broker.metadata_url(tenant)})"
            )
        else:
            self.stdout.write(f"{tenant.slug}: direct mode")
