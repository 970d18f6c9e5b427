from tests.tenants.auth.conftest import idp, make_provider, signing_keys

__all__ = ["idp", "make_provider", "signing_keys"]
