"""django-oauth-toolkit's ``OAUTH2_PROVIDER`` for the broker (imported by settings: no Django
here). OAuth 2.1 as RFC 9700 has it: PKCE with S256 only, no implicit or password grant,
tokens in the Authorization header only, refresh tokens rotated with reuse detection, and
clients registered dynamically (RFC 7591) or named by a client ID metadata document."""

from typing import Any


def broker_provider_settings(*, access_token_ttl: int) -> dict[str, Any]:
    return {
        "ACCESS_TOKEN_EXPIRE_SECONDS": access_token_ttl,
        "OAUTH2_VALIDATOR_CLASS": "tenants.oauth.validator.BrokerValidator",
        "ACCESS_TOKEN_GENERATOR": "tenants.oauth.tokens.access_token",
        "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
        "SCOPES": {"mcp": "Use this server's tools"},
        "DEFAULT_SCOPES": ["mcp"],
        "PKCE_REQUIRED": True,
        "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,  # S256 only
        "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
        "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
        "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
        # Tokens are kept as digests only (the access token is a JWT, checked by signature).
        "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
        "ROTATE_REFRESH_TOKEN": True,
        "REFRESH_TOKEN_REUSE_PROTECTION": True,
        "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
        "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 86400,
        "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
        "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
        "REQUEST_APPROVAL_PROMPT": "force",
        "DCR_ENABLED": True,
        "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
        "CIMD_ENABLED": True,
        "CIMD_METADATA_FETCHER": "tenants.oauth.cimd.OutboundMetadataFetcher",
    }
