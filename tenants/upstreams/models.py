"""Tenant secrets, upstream MCP servers and HTTP tools (imported by ``tenants.models``).

Every change goes through ``tenants.services``; these models only describe data.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from tenants.upstreams import httpspec, spec
from tenants.validators import validate_scopes


class TenantSecret(models.Model):
    """A named secret of a tenant (an upstream API token, a client secret), write-only.

    Only the sealed value is stored (AES-256-GCM under the store's key ring, bound to the
    tenant and the name: ``tenants.secrets``), with its last four characters for people to
    recognise it. Nothing prints the value: not ``str``, not ``repr``, not the admin.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(
        max_length=64,
        validators=[spec.validate_secret_name],
        help_text="Referenced as {secret:NAME} in upstream header values.",
    )
    sealed = models.BinaryField(editable=False)
    last_four = models.CharField(max_length=4, blank=True, editable=False)
    set_by = models.CharField(max_length=200, editable=False)
    set_at = models.DateTimeField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("tenant_id", "name")
        constraints = [
            models.UniqueConstraint(fields=("tenant", "name"), name="unique_secret_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.name} (…{self.last_four})" if self.last_four else self.name

    def __repr__(self) -> str:
        return f"<TenantSecret {self.name} tenant={self.tenant_id}>"


class _Attached(models.Model):
    """What an upstream and an HTTP tool share: who attached it, when, and whether it is on."""

    enabled = models.BooleanField(default=True)
    created_by = models.CharField(max_length=200, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ("tenant_id", "name")

    name: str  # each subclass declares its own name and tenant fields
    tenant_id: int

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} tenant={self.tenant_id}>"


class Upstream(_Attached):
    """A remote MCP server whose tools, resources and prompts a tenant's users get, under
    the prefix ``NAME.``, called with the tenant's credentials (never the client's)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="upstreams")
    name = models.CharField(
        max_length=32,
        validators=[spec.validate_upstream_name],
        help_text="Prefix of its tools in tools/list: NAME.tool.",
    )
    url = models.URLField(
        "MCP endpoint URL", max_length=500, validators=[spec.validate_outbound_url]
    )
    headers = models.JSONField(
        default=dict,
        blank=True,
        validators=[spec.validate_header_templates],
        help_text='Sent on every request, e.g. {"Authorization": "Bearer {secret:CRM_TOKEN}"}.',
    )
    allow_private_network = models.BooleanField(
        default=False,
        help_text="Let requests reach private and loopback addresses (a server inside your "
        "network). Off, only public addresses over https.",
    )
    timeout = models.FloatField(
        default=30.0,
        validators=[MinValueValidator(0.1), MaxValueValidator(spec.MAX_TIMEOUT)],
        help_text="Seconds a call may take before the client gets an error result.",
    )
    scopes = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_scopes],
        help_text="Scopes a caller's credential needs for any of its tools (none: no scope).",
    )

    class Meta(_Attached.Meta):
        constraints = [
            models.UniqueConstraint(fields=("tenant", "name"), name="unique_upstream_per_tenant")
        ]


class HttpTool(_Attached):
    """A tool that calls an HTTP API, defined by its JSON specification
    (``tenants.upstreams.httpspec``)."""

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="http_tools"
    )
    name = models.CharField(max_length=64, validators=[httpspec.validate_http_tool_name])
    spec = models.JSONField(
        validators=[httpspec.validate_http_tool_spec],
        help_text="The tool's specification (the README's 'Upstream HTTP APIs' shows one).",
    )

    class Meta(_Attached.Meta):
        verbose_name = "HTTP tool"
        constraints = [
            models.UniqueConstraint(fields=("tenant", "name"), name="unique_http_tool_per_tenant")
        ]

    def clean(self) -> None:
        if isinstance(self.spec, dict) and self.spec.get("name") not in (None, self.name):
            raise ValidationError({"spec": "The spec's name and the tool's name differ."})
