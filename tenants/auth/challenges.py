"""WWW-Authenticate challenges for the MCP endpoint (RFC 6750 section 3, RFC 9728 section 5.1).

Every 401 names the tenant's protected-resource metadata so a client can discover where to get
a token; a 403 insufficient_scope names every scope the refused operation needs, in one
challenge.
"""

from collections.abc import Iterable

from mcpserver.conf import mcp_settings
from tenants.snapshots import AnyTenant


def _quoted(value: str) -> str:
    # Descriptions are ours, but keep the header well-formed whatever they hold (RFC 6750
    # limits error_description to printable ASCII without '"' and '\').
    cleaned = "".join(ch for ch in value if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\')
    return f'"{cleaned}"'


def bearer_challenge(
    *,
    resource_metadata: str,
    error: str = "",
    description: str = "",
    scopes: Iterable[str] = (),
) -> str:
    params: list[tuple[str, str]] = []
    if error:
        params.append(("error", error))
        if description:
            params.append(("error_description", description))
    params.append(("resource_metadata", resource_metadata))
    scope = " ".join(sorted(set(scopes)))
    if scope:
        params.append(("scope", scope))
    return "Bearer " + ", ".join(f"{name}={_quoted(value)}" for name, value in params)


def supported_scopes(tenant: AnyTenant) -> list[str]:
    """The scopes this tenant's endpoint advertises in metadata and 401s."""
    return sorted(set(mcp_settings.SCOPES_SUPPORTED))


def unauthorized_challenge(tenant: AnyTenant, error: str, description: str) -> str:
    """The challenge of a 401 for ``tenant``; an empty ``error`` means "no credential"."""
    return bearer_challenge(
        resource_metadata=tenant.resource_metadata_url,
        error=error,
        description=description,
        scopes=supported_scopes(tenant),
    )


def insufficient_scope_challenge(tenant: AnyTenant, scopes: Iterable[str]) -> str:
    """The challenge of a 403 insufficient_scope naming every scope in ``scopes``."""
    needed = sorted(set(scopes))
    return bearer_challenge(
        resource_metadata=tenant.resource_metadata_url,
        error="insufficient_scope",
        description="This request needs the scope(s): " + " ".join(needed),
        scopes=needed,
    )
