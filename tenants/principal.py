"""Who is asking: the result of authentication, written to the ASGI scope as ``scope["principal"]``.

The MCP consumer and the tools read it; nothing downstream re-validates a credential.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class AuthMethod(StrEnum):
    API_KEY = "api_key"
    JWT = "jwt"


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: int
    tenant_slug: str
    subject: str
    auth_method: AuthMethod
    # SHA-256 hex of the presented credential: names it in caches, logs and revocation lists
    # without ever holding the credential itself.
    fingerprint: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    email: str | None = None
    expires_at: datetime | None = None
    # The API key's public id or the identity provider's issuer, for audit records.
    credential_id: str = ""

    def has_scopes(self, required: frozenset[str] | set[str]) -> bool:
        return required <= self.scopes

    def missing_scopes(self, required: frozenset[str] | set[str]) -> frozenset[str]:
        return frozenset(required) - self.scopes
