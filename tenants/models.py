"""Tenants and what they own: identity providers, API keys, revocations; the append-only
audit log (``models_audit``) and the rest of the app's models are re-exported from here.

Every state change goes through ``tenants.services``; these models only describe data.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from mcpserver.conf import mcp_settings
from tenants import validators
from tenants.ratelimit_rates import validate_rate_setting


class TenantFacts:
    """What follows from a tenant's slug and status, for the model and for the frozen view
    the request path gets (``tenants.snapshots.TenantView``) alike."""

    __slots__ = ()
    slug: str
    status: str

    @property
    def is_active(self) -> bool:
        return self.status == Tenant.Status.ACTIVE

    @property
    def resource_identifier(self) -> str:
        """The RFC 8707 resource this tenant's tokens are issued for."""
        return f"{mcp_settings.PUBLIC_URL}/mcp/{self.slug}"

    @property
    def resource_metadata_url(self) -> str:
        """Where this tenant's RFC 9728 protected-resource metadata is published."""
        return f"{mcp_settings.PUBLIC_URL}/.well-known/oauth-protected-resource/mcp/{self.slug}"


class Tenant(TenantFacts, models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    slug = models.CharField(
        max_length=63,
        unique=True,
        validators=[validators.validate_tenant_slug],
        help_text="URL name: the endpoint is /mcp/ followed by it. Lowercase, digits, hyphens.",
    )
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    enabled_toolsets = models.JSONField(
        default=list,
        blank=True,
        validators=[validators.validate_toolsets],
        help_text="Tool sets this tenant's users can call.",
    )
    # Requests to /mcp/<slug> (tenants.ratelimit): blank follows MCP_SERVER's default.
    rate_limit_tenant = models.CharField(
        "rate limit for the tenant",
        max_length=32,
        blank=True,
        validators=[validate_rate_setting],
        help_text="N/PERIOD (PERIOD s, min, h or day), e.g. 1000/min, for all its users "
        "together; off for none; blank for the server's default.",
    )
    rate_limit_credential = models.CharField(
        "rate limit per credential",
        max_length=32,
        blank=True,
        validators=[validate_rate_setting],
        help_text="N/PERIOD for each API key or signed-in user; off for none; blank for the "
        "server's default.",
    )
    disabled_tools = models.JSONField(
        default=list,
        blank=True,
        validators=[validators.validate_tool_names],
        help_text="Tools of the enabled sets this tenant's users do not get, by the name "
        "tools/list shows (an upstream server's tools as NAME.tool).",
    )
    # Audit rows older than this are trimmed from the start of the tenant's hash chain
    # (tenants.services.retention); blank follows MCP_SERVER["AUDIT_RETENTION_DAYS"].
    audit_retention_days = models.PositiveIntegerField(
        "audit retention (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Days the audit log keeps this tenant's rows; blank for the server's default.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("slug",)

    def __str__(self) -> str:
        return self.slug


class IdentityProvider(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="identity_providers")
    issuer = models.URLField(
        max_length=500,
        validators=[validators.validate_issuer_url],
        help_text="Matched exactly against the token's iss claim.",
    )
    jwks_uri = models.URLField(
        max_length=500,
        blank=True,
        validators=[validators.validate_issuer_url],
        help_text="Leave blank to discover it from the issuer's metadata.",
    )
    audience = models.CharField(
        max_length=500,
        blank=True,
        help_text="Leave blank to require the tenant's resource identifier (RFC 8707).",
    )
    algorithms = models.JSONField(
        default=validators.default_algorithms,
        validators=[validators.validate_algorithms],
        help_text="Signature algorithms accepted; asymmetric only.",
    )
    org_claim = models.CharField(
        max_length=100,
        blank=True,
        help_text="For an identity provider shared by several tenants: the claim naming the org.",
    )
    org_value = models.CharField(
        max_length=200, blank=True, help_text="The value org_claim must hold for this tenant."
    )
    scopes_claim = models.CharField(
        max_length=100,
        blank=True,
        help_text="Claim holding scopes; blank reads 'scope' (space-separated) or 'scp'.",
    )
    allow_private_network = models.BooleanField(
        default=False,
        help_text="Let discovery and JWKS requests reach private and loopback addresses (an "
        "identity provider inside your network). Off, only public addresses over https.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # What the last fetch of its signing keys found (tenants.auth.keystatus): operational
    # state for the admin and for alerting, written by checks and refreshes, not audited.
    keys_checked_at = models.DateTimeField(null=True, blank=True)
    keys_refreshed_at = models.DateTimeField(null=True, blank=True)
    keys_error = models.CharField(max_length=500, blank=True)
    key_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("tenant__slug", "issuer")
        constraints = [
            models.UniqueConstraint(fields=("tenant", "issuer"), name="unique_issuer_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.issuer} ({self.tenant.slug})"

    def clean(self) -> None:
        if bool(self.org_claim) != bool(self.org_value):
            raise ValidationError("Set both the org claim and its expected value, or neither.")

    @property
    def effective_audience(self) -> str:
        return self.audience or self.tenant.resource_identifier


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def usable(self) -> "ApiKeyQuerySet":
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """An API key. Only the SHA-256 digest of the secret and its last four characters are kept."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    public_id = models.CharField(
        max_length=32, unique=True, editable=False, help_text="Names the key in logs and commands."
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    last_four = models.CharField(max_length=4, editable=False)
    scopes = models.JSONField(default=list, blank=True, validators=[validators.validate_scopes])
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.CharField(max_length=200, editable=False)
    # A personal key (made in the portal): its owner's "sign out everywhere" revokes it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="api_keys",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id}, …{self.last_four})"

    def __repr__(self) -> str:
        return f"<ApiKey {self.public_id} tenant={self.tenant_id}>"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def display_hint(self) -> str:
        return f"{mcp_settings.API_KEY_PREFIX}…{self.last_four}"


class Revocation(models.Model):
    """A cache group revoked at some time: the database's word against a stale Redis.

    Written in the transaction of the change that revoked it (key revoked, provider changed,
    tenant suspended); read by every instance at most once per REVOCATION_CHECK_INTERVAL
    (``tenants.auth.ledger``). Rows older than the longest auth cache TTL are purged.
    """

    group = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=("group", "id"), name="revocation_group_id")]

    def __str__(self) -> str:
        return f"{self.group} at {self.created_at:%Y-%m-%d %H:%M:%S}"


# Members, portal sign-in and sign-outs: a module of their own, registered
# with the app by this import (it needs Tenant, defined above).
# The append-only audit log and its chain heads: a module of their own (still this app's).
from tenants.models_audit import AuditChainHead, AuditLog  # noqa: E402
from tenants.models_oauth import BrokerClient, BrokerGrant, BrokerSigningKey  # noqa: E402
from tenants.models_people import (  # noqa: E402
    Membership,
    PortalSignIn,
    SubjectSignOut,
)

# Secrets, upstream servers and HTTP tools live in a module of their own (still this app's).
from tenants.upstreams.models import HttpTool, TenantSecret, Upstream  # noqa: E402

__all__ = [
    "ApiKey",
    "AuditChainHead",
    "AuditLog",
    "BrokerClient",
    "BrokerGrant",
    "BrokerSigningKey",
    "HttpTool",
    "IdentityProvider",
    "Membership",
    "PortalSignIn",
    "Revocation",
    "SubjectSignOut",
    "Tenant",
    "TenantFacts",
    "TenantSecret",
    "Upstream",
]
