"""A per-tenant OAuth 2.1 authorization server for tenants in broker mode.

Its issuer is ``PUBLIC_URL/oauth/<slug>``; its access tokens are JWTs signed with the
tenant's broker key (``keys``) and validated by ``tenants.auth`` like any tenant JWT,
through an identity provider row for the broker's issuer (``issuer``).
"""
