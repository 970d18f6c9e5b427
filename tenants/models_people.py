"""The people's side of a tenant: memberships and roles, how its users sign in to the
portal, "sign out everywhere" records, and sealed tenant secrets."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from tenants import validators
from tenants.models import Tenant


class Membership(models.Model):
    """A person's place in a tenant: ``admin`` manages the tenant's keys, members and audit
    log (portal, REST API); ``member`` manages only their own keys. Staff (Django's
    ``is_staff``) manage everything in admin and need no membership."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # The user's ``sub`` at the tenant's identity provider (blank for one added by hand who
    # has not signed in yet): how a returning user, and their access tokens, are recognised.
    subject = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("tenant__slug", "user__username")
        constraints = [
            models.UniqueConstraint(fields=("user", "tenant"), name="one_membership_per_tenant"),
            models.UniqueConstraint(
                fields=("tenant", "subject"),
                condition=~models.Q(subject=""),
                name="one_member_per_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class PortalSignIn(models.Model):
    """How a tenant's users sign in to the portal: an OpenID Connect client at the tenant's
    identity provider (authorization code with PKCE). The client secret is a tenant secret
    (``tenants.secrets``, name ``PORTAL_SECRET_NAME``), never a column here."""

    class Mode(models.TextChoices):
        BROKER = "broker", "Broker (this server's authorization server)"
        DIRECT = "direct", "Direct (the tenant's identity provider issues tokens)"

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="portal_sign_in")
    issuer = models.URLField(
        max_length=500,
        validators=[validators.validate_issuer_url],
        help_text="The OpenID provider's issuer; its endpoints are discovered from it.",
    )
    client_id = models.CharField(max_length=200)
    # broker: MCP clients get their tokens from this server's per-tenant authorization
    # server (tenants.oauth), the user signing in at the issuer above; direct: the tenant's
    # own identity providers issue the tokens and this sign-in serves the portal only.
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.DIRECT)
    scopes = models.CharField(max_length=300, default="openid email profile")
    admin_claim = models.CharField(
        max_length=100,
        blank=True,
        help_text="A claim (e.g. groups) whose value, or one of its values, makes the user a "
        "tenant admin when it equals the admin value. Blank: roles are set by hand.",
    )
    admin_value = models.CharField(max_length=200, blank=True)
    allow_private_network = models.BooleanField(
        default=False,
        help_text="Let discovery, token and key requests reach private and loopback addresses.",
    )
    enabled = models.BooleanField(default=True)
    # Discovered from the issuer when saved (tenants.portal.oidc): the endpoints the sign-in
    # flow uses, so a sign-in costs no discovery request.
    authorization_endpoint = models.URLField(max_length=500, blank=True, editable=False)
    token_endpoint = models.URLField(max_length=500, blank=True, editable=False)
    userinfo_endpoint = models.URLField(max_length=500, blank=True, editable=False)
    jwks_uri = models.URLField(max_length=500, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    PORTAL_SECRET_NAME = "PORTAL_OIDC_CLIENT_SECRET"  # noqa: S105 - a name, not a secret

    class Meta:
        verbose_name = "portal sign-in"

    def __str__(self) -> str:
        return f"portal sign-in of {self.tenant.slug} at {self.issuer}"

    def clean(self) -> None:
        if bool(self.admin_claim) != bool(self.admin_value):
            raise ValidationError("Set both the admin claim and its value, or neither.")


class SubjectSignOut(models.Model):
    """ "Sign out everywhere": access tokens for this subject issued at or before ``at`` are
    refused (the authenticator checks on full validation; cached principals are revoked
    through the ledger)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sign_outs")
    subject = models.CharField(max_length=255)
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("tenant", "subject"), name="one_sign_out_per_subject")
        ]

    def __str__(self) -> str:
        return f"{self.subject} signed out at {self.at:%Y-%m-%d %H:%M:%S}"
