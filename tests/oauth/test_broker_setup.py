"""Broker mode switched on and off: the metadata a client discovers, the signing keys it
publishes, and the identity provider row through which its tokens are validated."""

from io import StringIO

import jwt
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from tenants.models import AuditLog, BrokerSigningKey, IdentityProvider, PortalSignIn, Tenant
from tenants.oauth import keys
from tests.oauth.tenants import portal_sign_in

BASE = "https://mcp.example.com"


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.MCP_SERVER = {**settings.MCP_SERVER, "PUBLIC_URL": BASE}


@pytest.fixture
def sign_in(tenant: Tenant) -> PortalSignIn:
    return portal_sign_in(tenant)


def set_sign_in(*args: str) -> str:
    out = StringIO()
    call_command("set_sign_in", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestBrokerMode:
    def test_broker_mode_publishes_an_authorization_server(self, tenant, sign_in):
        out = set_sign_in(tenant.slug, "--mode", "broker")
        issuer = f"{BASE}/oauth/{tenant.slug}"
        assert issuer in out
        client = Client()
        resource = client.get(f"/.well-known/oauth-protected-resource/mcp/{tenant.slug}").json()
        assert resource["authorization_servers"] == [issuer]
        metadata = client.get(f"/.well-known/oauth-authorization-server/oauth/{tenant.slug}")
        assert metadata.status_code == 200
        document = metadata.json()
        assert document["issuer"] == issuer
        assert document["code_challenge_methods_supported"] == ["S256"]
        assert document["authorization_response_iss_parameter_supported"] is True
        assert document["jwks_uri"] == f"{issuer}/jwks"
        provider = IdentityProvider.objects.get(tenant=tenant, issuer=issuer)
        assert provider.enabled and provider.jwks_uri == f"{issuer}/jwks"
        assert AuditLog.objects.filter(action="sign_in.set_mode", target="broker").exists()

    def test_tokens_verify_with_the_published_keys(self, tenant, sign_in):
        set_sign_in(tenant.slug, "--mode", "broker")
        claims = {"iss": f"{BASE}/oauth/{tenant.slug}", "aud": tenant.resource_identifier,
                  "sub": "alice", "exp": 4102444800}  # fmt: skip
        token = keys.sign(tenant, claims)
        published = Client().get(f"/oauth/{tenant.slug}/jwks").json()["keys"]
        kid = jwt.get_unverified_header(token)["kid"]
        (jwk,) = [key for key in published if key["kid"] == kid]
        assert "d" not in jwk  # the private half never leaves the key ring
        decoded = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["ES256"],
                             audience=tenant.resource_identifier)  # fmt: skip
        assert decoded["sub"] == "alice"

    def test_rotation_keeps_the_old_key_published(self, tenant, sign_in):
        set_sign_in(tenant.slug, "--mode", "broker")
        old = keys.current_key(tenant)
        new = keys.rotate(tenant)
        kids = {key["kid"] for key in Client().get(f"/oauth/{tenant.slug}/jwks").json()["keys"]}
        assert kids == {old.kid, new.kid}
        assert BrokerSigningKey.objects.filter(tenant=tenant, retired_at__isnull=True).count() == 1
        sealed = bytes(BrokerSigningKey.objects.get(kid=new.kid).sealed_private)
        assert b"PRIVATE KEY" not in sealed

    def test_direct_mode_takes_the_authorization_server_away(self, tenant, sign_in):
        set_sign_in(tenant.slug, "--mode", "broker")
        set_sign_in(tenant.slug, "--mode", "direct")
        client = Client()
        metadata = client.get(f"/.well-known/oauth-authorization-server/oauth/{tenant.slug}")
        assert metadata.status_code == 404 and metadata.json()["error"] == "not_found"
        assert client.get(f"/oauth/{tenant.slug}/jwks").status_code == 404
        resource = client.get(f"/.well-known/oauth-protected-resource/mcp/{tenant.slug}").json()
        assert "authorization_servers" not in resource
        assert not IdentityProvider.objects.get(tenant=tenant).enabled


@pytest.mark.django_db
class TestBadInput:
    def test_broker_mode_needs_an_oidc_sign_in(self, tenant):
        with pytest.raises(CommandError, match="--oidc-issuer"):
            set_sign_in(tenant.slug, "--mode", "broker")
        assert not IdentityProvider.objects.exists()

    def test_issuer_without_client_id(self, tenant):
        with pytest.raises(CommandError, match="together"):
            set_sign_in(tenant.slug, "--mode", "broker", "--oidc-issuer", "https://x.example")

    def test_unknown_tenant(self, db):
        with pytest.raises(CommandError, match="No tenant"):
            set_sign_in("nobody", "--mode", "direct")

    def test_unknown_tenant_has_no_metadata(self, db):
        response = Client().get("/.well-known/oauth-authorization-server/oauth/nobody")
        assert response.status_code == 404
