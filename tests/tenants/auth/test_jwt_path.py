"""The authentication contract for JWTs (RS256 and ES256, a JWKS served over loopback)."""

import time
from typing import Any

import pytest

from mcpserver.process import process_state
from sessions_store import store as store_module
from tenants import services
from tests.tenants.auth.conftest import wait_until_live
from tests.tenants.auth.idp import hmac_token, new_key, unsigned_token
from tests.tenants.auth.paths import AuthPathContract, challenge

pytestmark = pytest.mark.django_db(transaction=True)


class JwtPath:
    method = "jwt"
    scopes = ("tools:read", "tools:call")
    subject = "user-1"
    lifetime = 600
    forged_description = "The access token's signature is invalid."
    other_tenant_description = "The access token was issued for another resource."
    expired_description = "The access token has expired."
    revoked_description = "The access token's issuer is not trusted."

    def __init__(self, alg, tenant, other, idp, signing_keys, make_provider, actor) -> None:
        self.alg, self.tenant, self.other, self.idp = alg, tenant, other, idp
        self.key = signing_keys[alg]
        self.provider = make_provider(tenant, idp)
        make_provider(other, idp)  # the same identity provider, trusted by both tenants
        self._actor = actor
        self._counter = 0

    def token(self, **claims: Any) -> str:
        self._counter += 1  # each call a distinct token
        claims.setdefault("jti", f"t{self._counter}")
        return self.idp.token(self.key, audience=self.tenant.resource_identifier, **claims)

    def good(self) -> str:
        return self.token()

    def forged(self) -> str:
        impostor = new_key(self.alg, self.key.kid)  # same kid, another private key
        return self.idp.token(impostor, audience=self.tenant.resource_identifier)

    def expired(self) -> str:
        now = int(time.time())
        return self.token(iat=now - 3600, exp=now - 120)

    def revoke(self) -> None:
        services.identity_provider_set_enabled(
            provider=self.provider, enabled=False, actor=self._actor
        )


class JwtContract(AuthPathContract):
    alg = ""

    @pytest.fixture
    def path(self, shared_store, make_tenant, idp, signing_keys, make_provider, actor):
        return JwtPath(
            self.alg, make_tenant("acme"), make_tenant("globex"), idp, signing_keys,
            make_provider, actor,
        )  # fmt: skip

    def test_alg_none_is_refused(self, path, call):
        claims = path.idp.claims(audience=path.tenant.resource_identifier)
        response = call("/mcp/acme", token=unsigned_token(claims, kid=path.key.kid))
        assert response.status == 401
        assert response.challenge == challenge(
            "invalid_token", "The token's signing algorithm is not accepted."
        )

    def test_hs256_signed_with_the_public_key_is_refused(self, path, call):
        claims = path.idp.claims(audience=path.tenant.resource_identifier)
        for secret in (path.key.public_pem, str(path.key.jwk()).encode()):
            response = call("/mcp/acme", token=hmac_token(claims, secret=secret, kid=path.key.kid))
            assert response.status == 401
            assert response.challenge == challenge(
                "invalid_token", "The token's signing algorithm is not accepted."
            )

    def test_wrong_issuer(self, path, call):
        response = call("/mcp/acme", token=path.token(iss="https://evil.example.com"))
        assert response.status == 401
        assert response.challenge == challenge(
            "invalid_token", "The access token's issuer is not trusted."
        )

    def test_issuer_matched_exactly(self, path, call):
        response = call("/mcp/acme", token=path.token(iss=path.idp.issuer + "/"))
        assert response.status == 401
        assert "issuer is not trusted" in response.challenge

    @pytest.mark.parametrize("audience", ["http://testserver/mcp/globex", "account", None])
    def test_wrong_or_missing_audience(self, path, call, audience):
        response = call("/mcp/acme", token=path.token(aud=audience))
        assert response.status == 401
        expected = (
            "The access token lacks a required claim."
            if audience is None
            else "The access token was issued for another resource."
        )
        assert response.challenge == challenge("invalid_token", expected)

    @pytest.mark.parametrize("claim", ["nbf", "iat"])
    def test_not_yet_valid(self, path, call, claim):
        response = call("/mcp/acme", token=path.token(**{claim: int(time.time()) + 600}))
        assert response.status == 401
        assert response.challenge == challenge(
            "invalid_token", "The access token is not valid yet."
        )

    def test_small_clock_skew_is_tolerated(self, path, call):
        now = int(time.time())
        assert call("/mcp/acme", token=path.token(nbf=now + 10, exp=now + 600)).status == 200
        assert call("/mcp/acme", token=path.token(exp=now - 10)).status == 200

    def test_subject_required(self, path, call):
        response = call("/mcp/acme", token=path.token(sub=None))
        assert response.status == 401
        assert response.challenge == challenge(
            "invalid_token", "The access token lacks a required claim."
        )

    def test_unknown_kid_refetches_once_then_cools_down(self, path, call, settings):
        # Long enough that the five calls below fall within it on a busy machine too.
        settings.MCP_SERVER = {**settings.MCP_SERVER, "JWKS_REFETCH_COOLDOWN": 4}
        assert call("/mcp/acme", token=path.good()).status == 200
        fetched = path.idp.jwks_hits
        assert fetched == 1
        rotated = new_key(self.alg, "rotated-key")
        token = path.idp.token(rotated, audience=path.tenant.resource_identifier)
        first_refetch = None
        for _ in range(5):
            response = call("/mcp/acme", token=token)
            # The cooldown started during the first call: by its end at the latest.
            first_refetch = first_refetch or time.monotonic()
            assert response.status == 401
            assert response.challenge == challenge(
                "invalid_token", "The token's signing key is not known."
            )
            time.sleep(0.25)  # past the per-process recheck interval, within the cooldown
        assert path.idp.jwks_hits == fetched + 1
        # The provider publishes the new key: once the cooldown is over it is picked up.
        path.idp.keys.append(rotated)
        assert first_refetch is not None
        # Past the cooldown, and past the per-process recheck interval of the last call.
        time.sleep(max(0.3, first_refetch + 4.1 - time.monotonic()))
        assert call("/mcp/acme", token=token).status == 200
        assert path.idp.jwks_hits == fetched + 2

    def test_cold_instance_with_warm_shared_cache_makes_no_network_call(self, path, call):
        assert call("/mcp/acme", token=path.good()).status == 200
        assert path.idp.jwks_hits == 1
        # A new instance: empty process memory, a new store object, the same Redis.
        process_state.reset()
        wait_until_live(store_module.get_store())
        assert call("/mcp/acme", token=path.good()).status == 200
        assert path.idp.jwks_hits == 1
        assert sum(path.idp.hits.values()) == 1

    def test_org_claim_must_match_for_a_shared_provider(self, path, call, actor):
        services.identity_provider_update(
            provider=_with(path.provider, org_claim="org_id", org_value="acme-org"),
            changes={"org_claim": "org_id"},
            actor=actor,
        )
        assert call("/mcp/acme", token=path.token(org_id="acme-org")).status == 200
        response = call("/mcp/acme", token=path.token(org_id="globex-org"))
        assert response.status == 401
        assert response.challenge == challenge(
            "invalid_token", "The access token was issued for another organization."
        )

    def test_scopes_from_scp_or_configured_claim(self, path, call, actor):
        body = call("/mcp/acme", token=path.token(scope=None, scp=["a", "b"])).json()
        assert body["scopes"] == ["a", "b"]
        assert call("/mcp/acme", token=path.token(scope=None, scp="c d")).json()["scopes"] == [
            "c",
            "d",
        ]
        services.identity_provider_update(
            provider=_with(path.provider, scopes_claim="permissions"),
            changes={"scopes_claim": "permissions"},
            actor=actor,
        )
        body = call("/mcp/acme", token=path.token(permissions=["x:y"])).json()
        assert body["scopes"] == ["x:y"]
        assert body["email"] == "user@example.com"


def _with(provider: Any, **fields: Any) -> Any:
    for name, value in fields.items():
        setattr(provider, name, value)
    return provider


class TestRs256(JwtContract):
    alg = "RS256"


class TestEs256(JwtContract):
    alg = "ES256"
