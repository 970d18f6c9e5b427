"""Every change to tenants and their credentials, each with its audit record.

Keyword-only functions named ``<entity>_<action>``, atomic, writing the audit row in the same
transaction. Views, admin actions, commands and tasks call these and nothing else:
``tenants`` for tenants themselves (creation, settings, tools, rate limits, status),
``credentials`` for identity providers and API keys, ``people`` for members and sign-in,
``secrets`` for sealed tenant secrets, ``upstreams`` for upstream MCP servers and HTTP tools,
``retention`` for trimming the audit log.
"""

from tenants.services.credentials import (
    api_key_create,
    api_key_revoke,
    identity_provider_create,
    identity_provider_set_enabled,
    identity_provider_summary,
    identity_provider_update,
)
from tenants.services.oauth import oauth_client_revoke, oauth_grant_revoke
from tenants.services.people import (
    member_sign_out_everywhere,
    member_signed_in,
    membership_add,
    membership_remove,
    membership_set_role,
    personal_key_create,
    portal_sign_in_set,
)
from tenants.services.retention import (
    audit_trim,
    tenant_set_audit_retention,
)
from tenants.services.secrets import (
    tenant_secret_delete,
    tenant_secret_set,
)
from tenants.services.signin import sign_in_set_mode
from tenants.services.tenants import (
    tenant_create,
    tenant_reactivate,
    tenant_set_rate_limits,
    tenant_set_tools,
    tenant_suspend,
    tenant_update,
)
from tenants.services.upstreams import (
    http_tool_create,
    http_tool_update,
    upstream_create,
    upstream_update,
)

__all__ = [
    "api_key_create",
    "api_key_revoke",
    "audit_trim",
    "http_tool_create",
    "http_tool_update",
    "identity_provider_create",
    "identity_provider_set_enabled",
    "identity_provider_summary",
    "identity_provider_update",
    "member_sign_out_everywhere",
    "member_signed_in",
    "membership_add",
    "membership_remove",
    "membership_set_role",
    "oauth_client_revoke",
    "oauth_grant_revoke",
    "personal_key_create",
    "portal_sign_in_set",
    "sign_in_set_mode",
    "tenant_create",
    "tenant_reactivate",
    "tenant_secret_delete",
    "tenant_secret_set",
    "tenant_set_audit_retention",
    "tenant_set_rate_limits",
    "tenant_set_tools",
    "tenant_suspend",
    "tenant_update",
    "upstream_create",
    "upstream_update",
]
