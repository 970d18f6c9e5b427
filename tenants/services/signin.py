"""How a tenant's MCP clients get their tokens: broker mode (this server's authorization
server, ``tenants.oauth``) or direct mode (the tenant's own identity providers)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from mcpserver.conf import mcp_settings
from tenants.audit import Actor, audit_record
from tenants.auth.revocation import clear_groups_on_commit
from tenants.models import IdentityProvider, PortalSignIn, Tenant
from tenants.oauth import issuer as broker
from tenants.oauth import keys


@transaction.atomic
def sign_in_set_mode(*, tenant: Tenant, mode: str, actor: Actor) -> PortalSignIn:
    """Switch the tenant's sign-in mode. Broker mode needs the portal sign-in (the users
    authenticate there) and keeps an identity provider row for the broker's own issuer, so
    its tokens are validated by the same path as any tenant JWT."""
    if mode not in PortalSignIn.Mode.values:
        raise ValidationError({"mode": "Choose broker or direct."})
    sign_in = PortalSignIn.objects.select_for_update().filter(tenant=tenant).first()
    if sign_in is None:
        raise ValidationError(
            "The tenant has no OpenID Connect sign-in: give --oidc-issuer and --client-id."
        )
    previous = sign_in.mode
    sign_in.mode = mode
    sign_in.save(update_fields=["mode", "updated_at"])
    own = broker.issuer(tenant)
    row = IdentityProvider.objects.filter(tenant=tenant, issuer=own).first()
    if mode == PortalSignIn.Mode.BROKER:
        if row is None:
            row = IdentityProvider(tenant=tenant, issuer=own)
        row.jwks_uri = f"{own}/jwks"
        row.audience = ""  # the tenant's resource identifier, nothing else
        row.algorithms = [keys.ALGORITHM]
        # Its keys are served by this very server, wherever PUBLIC_URL points.
        row.allow_private_network = not mcp_settings.PUBLIC_URL.startswith("https://")
        row.enabled = True
        # Both URLs are this server's own, derived from PUBLIC_URL (whose scheme the system
        # checks judge), and its keys are read from the database, never fetched from them.
        row.full_clean(exclude=["issuer", "jwks_uri"])
        row.save()
        keys.current_key(tenant)
    elif row is not None and row.enabled:
        row.enabled = False
        row.save(update_fields=["enabled", "updated_at"])
    audit_record(
        actor=actor,
        action="sign_in.set_mode",
        tenant=tenant,
        target=mode,
        details={"previous": previous, "issuer": own if mode == "broker" else sign_in.issuer},
    )
    # Tokens the broker issued, cached on any instance, go with its issuer's row.
    groups = [f"idp:{row.pk}"] if row is not None and row.pk else []
    clear_groups_on_commit(*groups, f"tenantconf:{tenant.pk}")
    return sign_in
