from typing import Any

from django.core.management.base import CommandError, CommandParser

from tenants import selectors, services
from tenants.management.base import OpsCommand, csv_list


class Command(OpsCommand):
    help = "Trust an OAuth 2.1 / OpenID Connect issuer for a tenant's users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--issuer", required=True)
        parser.add_argument("--jwks-uri", default="")
        parser.add_argument("--audience", default="")
        parser.add_argument("--algorithms", type=csv_list, default=None)
        parser.add_argument("--org-claim", default="")
        parser.add_argument("--org-value", default="")
        parser.add_argument("--scopes-claim", default="")
        parser.add_argument(
            "--allow-private",
            action="store_true",
            help="Let discovery and JWKS requests reach private and loopback addresses.",
        )

    def run(self, *, slug: str, **options: Any) -> None:
        tenant = selectors.tenant_get(slug=slug)
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        provider = services.identity_provider_create(
            tenant=tenant,
            issuer=options["issuer"],
            jwks_uri=options["jwks_uri"],
            audience=options["audience"],
            algorithms=options["algorithms"],
            org_claim=options["org_claim"],
            org_value=options["org_value"],
            scopes_claim=options["scopes_claim"],
            allow_private_network=options["allow_private"],
            actor=self.actor,
        )
        self.stdout.write(
            f"Added identity provider {provider.issuer} to {tenant.slug} "
            f"(audience {provider.effective_audience})"
        )
