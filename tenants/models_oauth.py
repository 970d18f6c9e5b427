"""The broker's own state: the keys it signs access tokens with, one set per tenant.

A private key is sealed by the store's key ring with its tenant and key id as associated
data (``tenants.oauth.keys``); the public half is kept in clear, published in the tenant's
JWKS while tokens it signed may still be presented.
"""

from django.db import models
from oauth2_provider.models import RefreshToken

from tenants.models import Tenant


class BrokerSigningKey(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="broker_keys")
    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=10, default="ES256")
    sealed_private = models.BinaryField(editable=False)
    public_jwk = models.JSONField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when a newer key takes over signing; the key stays published until every token it
    # signed has expired (tenants.oauth.keys.published_keys).
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("tenant_id", "-created_at")
        constraints = [
            models.UniqueConstraint(
                fields=("tenant",),
                condition=models.Q(retired_at__isnull=True),
                name="one_signing_key_per_tenant",
            )
        ]

    def __str__(self) -> str:
        state = "retired" if self.retired_at else "current"
        return f"broker key {self.kid} of tenant {self.tenant_id} ({state})"


class BrokerClient(models.Model):
    """Which tenant's authorization server a client (django-oauth-toolkit's Application,
    registered by DCR or resolved from a client ID metadata document) may use. A DCR client
    belongs to the tenant it registered at; a metadata-document client is linked to each
    tenant on first use there. A client is refused at every tenant it is not linked to."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="broker_clients")
    application = models.ForeignKey(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="broker_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by an operator's revocation (tenants.services.oauth): the client is refused at this
    # tenant from then on; the row stays, so a metadata-document client is not linked again.
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("tenant_id", "-created_at")
        constraints = [
            models.UniqueConstraint(fields=("tenant", "application"), name="one_link_per_client")
        ]

    def __str__(self) -> str:
        return f"client {self.application_id} at tenant {self.tenant_id}"


class BrokerGrant(RefreshToken):
    """A refresh token seen as what a person granted a client: one live row per family
    (rotation revokes the old row as it makes the new one). Revoking one revokes its family."""

    class Meta:
        proxy = True
        verbose_name = "broker grant"
