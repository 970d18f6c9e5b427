"""Where a tenant's broker lives, and whether a tenant is in broker mode."""

from __future__ import annotations

from typing import Any

from mcpserver.conf import mcp_settings
from tenants.models import PortalSignIn, Tenant


def issuer(tenant: Tenant) -> str:
    return issuer_of(tenant.slug)


def issuer_of(slug: str) -> str:
    return f"{mcp_settings.PUBLIC_URL}/oauth/{slug}"


def metadata_url(tenant: Tenant) -> str:
    return f"{mcp_settings.PUBLIC_URL}/.well-known/oauth-authorization-server/oauth/{tenant.slug}"


def in_broker_mode(tenant: Tenant) -> bool:
    return PortalSignIn.objects.filter(
        tenant=tenant, enabled=True, mode=PortalSignIn.Mode.BROKER
    ).exists()


def broker_tenant(slug: str) -> Tenant | None:
    """The active tenant ``slug`` if it is in broker mode (unknown, suspended and direct-mode
    tenants look the same: no authorization server)."""
    tenant = Tenant.objects.filter(slug=slug, status=Tenant.Status.ACTIVE).first()
    if tenant is None or not in_broker_mode(tenant):
        return None
    return tenant


def metadata(tenant: Tenant) -> dict[str, Any]:
    """RFC 8414 authorization-server metadata."""
    base = issuer(tenant)
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "registration_endpoint": f"{base}/register",
        "revocation_endpoint": f"{base}/revoke",
        "jwks_uri": f"{base}/jwks",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [
            "none",
            "client_secret_post",
            "client_secret_basic",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "none",
            "client_secret_post",
            "client_secret_basic",
        ],
        "scopes_supported": list(mcp_settings.SCOPES_SUPPORTED or []),
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": True,
    }
