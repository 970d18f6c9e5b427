"""The loopback identity provider of the authentication tests, for the API's bearer tokens."""

from tests.tenants.auth.conftest import idp, signing_keys

__all__ = ["idp", "signing_keys"]
