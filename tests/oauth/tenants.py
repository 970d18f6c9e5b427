"""A tenant in broker mode, as the OAuth tests set one up: its portal sign-in at an identity
provider (never contacted by these tests) and ``set_sign_in --mode broker``."""

from django.core.management import call_command

from tenants.models import Tenant
from tenants.models_people import PortalSignIn


def portal_sign_in(tenant: Tenant) -> PortalSignIn:
    return PortalSignIn.objects.create(
        tenant=tenant,
        issuer="https://idp.example.com",
        client_id="portal",
        authorization_endpoint="https://idp.example.com/auth",
        token_endpoint="https://idp.example.com/token",
        jwks_uri="https://idp.example.com/jwks",
    )


def broker_mode(tenant: Tenant) -> Tenant:
    portal_sign_in(tenant)
    call_command("set_sign_in", tenant.slug, "--mode", "broker")
    return tenant
