"""The authentication contract for the broker's own access tokens: a tenant in broker mode,
its tokens issued by the real flow (registration, the member's consent, code + PKCE), then
presented at the MCP endpoint and validated by the same JWT path as any tenant JWT."""

import hashlib
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from sessions_store import store as store_module
from sessions_store.backends.base import entry_name
from tenants import services
from tenants.audit import Actor
from tenants.auth import jwtkit, tokencache
from tenants.models import BrokerClient, BrokerGrant, Membership, Tenant
from tenants.oauth import issuer, keys
from tests.mcpserver.conftest import Endpoint
from tests.oauth.flow import exchange, get_code, pkce, refresh, register
from tests.oauth.tenants import broker_mode
from tests.tenants.auth.conftest import wait_until_live
from tests.tenants.auth.paths import AuthPathContract, challenge

pytestmark = pytest.mark.django_db(transaction=True)

UNTRUSTED = "The access token's issuer is not trusted."


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
        return str(self.grant()["access_token"])

    def grant(self) -> dict[str, Any]:
        """A new grant (refresh-token family) of the member to the client: its tokens."""
        verifier, challenge_ = pkce()
        code = get_code(self.browser, self.tenant, self.client_id, challenge_)
        answer = exchange(self.tenant, self.client_id, code, verifier)
        assert answer.status_code == 200, answer.content
        return dict(answer.json())

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


# --- A revoked grant or client refuses the access tokens already issued from it -------------

REVOKED = "The access token has been revoked."


def _replay(path: BrokerPath, tokens: dict[str, Any]) -> None:
    """Refresh once (rotation), then present the spent refresh token again: reuse protection
    revokes the whole family."""
    rotated = refresh(path.tenant, path.client_id, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.content
    replayed = refresh(path.tenant, path.client_id, tokens["refresh_token"])
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"


def _admin_grant_revoke(path: BrokerPath, tokens: dict[str, Any]) -> None:
    family = jwt.decode(tokens["access_token"], options={"verify_signature": False})["grant"]
    grant = BrokerGrant.objects.get(token_family=family, revoked__isnull=True)
    services.oauth_grant_revoke(tenant=path.tenant, grant=grant, actor=Actor.system("test"))


def _client_revoke(path: BrokerPath, tokens: dict[str, Any]) -> None:
    link = BrokerClient.objects.get(tenant=path.tenant, application__client_id=path.client_id)
    assert services.oauth_client_revoke(link=link, actor=Actor.system("test")) >= 1


def _endpoint_revoke(path: BrokerPath, tokens: dict[str, Any]) -> None:
    answer = Client().post(
        f"/oauth/{path.tenant.slug}/revoke",
        {"token": tokens["refresh_token"], "client_id": path.client_id},
    )
    assert answer.status_code == 200


REVOCATIONS = {
    "refresh-token replay": _replay,
    "grant revoked by an operator": _admin_grant_revoke,
    "client revoked by an operator": _client_revoke,
    "refresh token revoked by its client (RFC 7009)": _endpoint_revoke,
}


@pytest.mark.parametrize("revoke", REVOCATIONS.values(), ids=REVOCATIONS.keys())
def test_a_revoked_grant_refuses_its_access_token_at_once(shared_store, make_tenant, call, revoke):
    path = BrokerPath(make_tenant("acme"), make_tenant("globex"))
    tokens = path.grant()
    assert call("/mcp/acme", token=tokens["access_token"]).status == 200
    assert call("/mcp/acme", token=tokens["access_token"]).status == 200  # now from the cache
    revoke(path, tokens)
    response = call("/mcp/acme", token=tokens["access_token"])
    assert response.status == 401
    assert response.challenge == challenge("invalid_token", REVOKED)


def test_another_grant_of_the_same_member_still_works(shared_store, make_tenant, call):
    path = BrokerPath(make_tenant("acme"), make_tenant("globex"))
    first, second = path.grant(), path.grant()
    for tokens in (first, second):
        assert call("/mcp/acme", token=tokens["access_token"]).status == 200
    _replay(path, first)
    assert call("/mcp/acme", token=first["access_token"]).status == 401
    assert call("/mcp/acme", token=second["access_token"]).status == 200
    # A refreshed family's new access token works, and the one it replaced still does.
    renewed = refresh(path.tenant, path.client_id, second["refresh_token"])
    assert renewed.status_code == 200, renewed.content
    assert call("/mcp/acme", token=renewed.json()["access_token"]).status == 200
    assert call("/mcp/acme", token=second["access_token"]).status == 200


def test_a_revoked_grant_is_refused_by_another_instance_within_a_second(
    shared_store, make_tenant, call
):
    path = BrokerPath(make_tenant("acme"), make_tenant("globex"))
    tokens = path.grant()
    assert call("/mcp/acme", token=tokens["access_token"]).status == 200
    other = store_module.build_store()  # its own process tier, the same Redis
    original = store_module.get_store()
    try:
        wait_until_live(other)
        fingerprint = hashlib.sha256(tokens["access_token"].encode()).hexdigest()
        key = tokencache.cache_key(path.tenant.pk, fingerprint)
        assert other.get(key) is not None  # now held in the other's process tier
        _replay(path, tokens)
        started = time.monotonic()
        while other.cache.get(entry_name(key)) is not None:
            assert time.monotonic() - started < 1.0, "revocation took over a second"
            time.sleep(0.01)
        store_module._store.replace(other)  # requests are now answered by the other instance
        response = call("/mcp/acme", token=tokens["access_token"])
        assert response.status == 401
        assert response.challenge == challenge("invalid_token", REVOKED)
    finally:
        store_module._store.replace(original)
        other.close()


def test_a_broker_token_naming_no_grant_is_refused(shared_store, make_tenant, call):
    path = BrokerPath(make_tenant("acme"), make_tenant("globex"))
    path.grant()  # the family exists; a token signed by the broker's key but naming none
    unnamed = keys.sign(path.tenant, {**path._claims(), "client_id": path.client_id})
    assert call("/mcp/acme", token=unnamed).status == 401
    bogus = keys.sign(path.tenant, {**path._claims(), "client_id": path.client_id, "grant": "x"})
    response = call("/mcp/acme", token=bogus)
    assert response.status == 401 and response.challenge == challenge("invalid_token", REVOKED)
