"""The authentication contract for the broker's own access tokens: a tenant in broker mode,
its tokens issued by the real flow (registration, the member's consent, code + PKCE), then
presented at the MCP endpoint and validated by the same JWT path as any tenant JWT."""

import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from tenants.auth import jwtkit
from tenants.models import Membership, PortalSignIn, Tenant
from tenants.oauth import issuer, keys
from tests.mcpserver.conftest import Endpoint
from tests.oauth.test_broker_flow import exchange, get_code, pkce, register
from tests.tenants.auth.paths import AuthPathContract, challenge

pytestmark = pytest.mark.django_db(transaction=True)

UNTRUSTED = "The access token's issuer is not trusted."


def broker_mode(tenant: Tenant) -> None:
    PortalSignIn.objects.create(
        tenant=tenant,
        issuer="https://idp.example.com",
        client_id="portal",
        authorization_endpoint="https://idp.example.com/auth",
        token_endpoint="https://idp.example.com/token",
        jwks_uri="https://idp.example.com/jwks",
    )
    call_command("set_sign_in", tenant.slug, "--mode", "broker")


class BrokerPath:
    method = "jwt"
    scopes = ("mcp",)
    subject = "alice-sub"
    lifetime = 300
    forged_description = "The access token's signature is invalid."
    # The other tenant trusts its own authorization server only.
    other_tenant_description = UNTRUSTED
    expired_description = "The access token has expired."
    # Revoked by switching the tenant to direct mode: the broker's issuer is trusted no more.
    revoked_description = UNTRUSTED

    def __init__(self, tenant: Tenant, other: Tenant) -> None:
        self.tenant, self.other = tenant, other
        broker_mode(tenant)
        broker_mode(other)
        user = get_user_model().objects.create(username="alice", email="alice@example.com")
        Membership.objects.create(user=user, tenant=tenant, subject=self.subject)
        self.browser = Client()
        self.browser.force_login(user)
        self.client_id = register(tenant.slug)

    def good(self) -> str:
        verifier, challenge_ = pkce()
        code = get_code(self.browser, self.tenant, self.client_id, challenge_)
        answer = exchange(self.tenant, self.client_id, code, verifier)
        assert answer.status_code == 200, answer.content
        return str(answer.json()["access_token"])

    def _claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": issuer.issuer(self.tenant),
            "aud": self.tenant.resource_identifier,
            "sub": self.subject,
            "scope": "mcp",
            "iat": now,
            "exp": now + 300,
        }
        return {**claims, **overrides}

    def forged(self) -> str:
        kid = keys.current_key(self.tenant).kid  # the real kid, another private key
        impostor = ec.generate_private_key(ec.SECP256R1())
        return jwtkit.sign(self._claims(), private_key=impostor, algorithm="ES256", kid=kid)

    def expired(self) -> str:
        now = int(time.time())
        return keys.sign(self.tenant, self._claims(iat=now - 3600, exp=now - 120))

    def revoke(self) -> None:
        call_command("set_sign_in", self.tenant.slug, "--mode", "direct")


class TestBrokerTokens(AuthPathContract):
    @pytest.fixture
    def path(self, shared_store, make_tenant):
        return BrokerPath(make_tenant("acme"), make_tenant("globex"))


def test_a_broker_token_calls_a_tool_through_the_whole_application(make_tenant):
    path = BrokerPath(make_tenant("acme", toolsets=["builtin"]), make_tenant("globex"))
    token = path.good()
    answer = Endpoint("acme", token).modern("tools/call", {"name": "whoami", "arguments": {}})
    assert answer.status == 200, answer.body
    assert "alice-sub" in json.dumps(answer.message()["result"])
    refused = Endpoint("globex", token).modern("tools/call", {"name": "whoami", "arguments": {}})
    assert refused.status == 401
    assert refused.headers["www-authenticate"] == challenge(
        "invalid_token", UNTRUSTED, slug="globex"
    )
