"""Discovery, the shared key cache, its integrity, and keeping it warm."""

import time

import pytest
from django.core.management import call_command
from django_redis import get_redis_connection

from mcpserver.process import process_state
from sessions_store import store as store_module
from sessions_store.backends.base import entry_name
from tenants.auth import jwks, jwtkit
from tenants.auth.tenantcache import provider_config
from tenants.outbound import OutboundPolicy
from tenants.tasks import refresh_jwks
from tests.tenants.auth.conftest import wait_until_live
from tests.tenants.auth.idp import new_key

pytestmark = pytest.mark.django_db(transaction=True)


class TestDiscovery:
    def test_urls(self):
        assert jwks.discovery_urls("https://idp.example.com/tenant/x") == [
            "https://idp.example.com/.well-known/oauth-authorization-server/tenant/x",
            "https://idp.example.com/tenant/x/.well-known/openid-configuration",
        ]

    @pytest.mark.parametrize("rfc8414", [True, False])
    def test_issuer_only_provider_is_discovered(
        self, shared_store, make_tenant, make_provider, idp, signing_keys, call, rfc8414
    ):
        idp.serve_rfc8414 = rfc8414
        tenant = make_tenant("acme")
        make_provider(tenant, idp, jwks_uri="")
        token = idp.token(signing_keys["RS256"], audience=tenant.resource_identifier)
        assert call("/mcp/acme", token=token).status == 200
        assert idp.hits["/.well-known/oauth-authorization-server"] == 1
        assert idp.hits["/.well-known/openid-configuration"] == (0 if rfc8414 else 1)
        assert idp.jwks_hits == 1

    def test_metadata_for_another_issuer_is_refused(self, idp):
        with pytest.raises(jwks.JwksError, match="does not match"):
            # served, but names idp.issuer
            jwks.discover_jwks_uri(idp.issuer + "/", policy=OutboundPolicy(allow_private=True))

    def test_non_https_is_never_fetched(self):
        # A public address literal: refused before any connection, and no DNS query either.
        with pytest.raises(jwks.JwksRefused, match="plain http to a public address"):
            jwks.discover_jwks_uri("http://8.8.8.8", policy=OutboundPolicy(allow_private=True))


class TestSharedKeys:
    def test_refresh_command_and_task_warm_the_shared_cache(
        self, shared_store, make_tenant, make_provider, idp, capsys
    ):
        provider = make_provider(make_tenant("acme"), idp)
        call_command("refresh_jwks")
        assert "acme " + idp.issuer + ": 2 key(s)" in capsys.readouterr().out
        assert refresh_jwks.delay(provider.pk).get() == 1
        assert idp.jwks_hits == 2
        entry = shared_store.get_json(jwks.store_key(provider.pk))
        assert {k["kid"] for k in entry["keys"]} == {"rsa-1", "ec-1"}
        assert all("d" not in k for k in entry["keys"])

    def test_written_to_redis_directly_a_key_is_not_trusted(
        self, shared_store, make_tenant, make_provider, idp, call
    ):
        tenant = make_tenant("acme")
        provider = make_provider(tenant, idp)
        attacker = new_key("RS256", "attacker")
        forged_entry = b'{"issuer":"%s","jwks_uri":"%s","keys":[%s],"fetched_at":1}' % (
            idp.issuer.encode(),
            idp.jwks_uri.encode(),
            str(attacker.jwk()).replace("'", '"').encode(),
        )
        # Only plaintext can be written without the encryption key; the store refuses it.
        get_redis_connection("store").set(entry_name(jwks.store_key(provider.pk)), forged_entry)
        process_state.reset()
        wait_until_live(store_module.get_store())
        token = idp.token(attacker, audience=tenant.resource_identifier)
        response = call("/mcp/acme", token=token)
        assert response.status == 401
        # The forged entry was refused, so the real keys were fetched and shared instead.
        entry = store_module.get_store().get_json(jwks.store_key(provider.pk))
        assert {k["kid"] for k in entry["keys"]} == {"rsa-1", "ec-1"}
        assert 1 <= idp.jwks_hits <= 2  # the cold fetch, maybe one refetch for the unknown kid

    def test_a_flood_of_unknown_kids_costs_one_fetch(
        self, shared_store, make_tenant, make_provider, idp, signing_keys, call
    ):
        tenant = make_tenant("acme")
        make_provider(tenant, idp)
        assert (
            call(
                "/mcp/acme",
                token=idp.token(signing_keys["ES256"], audience=tenant.resource_identifier),
            ).status
            == 200
        )
        forger = new_key("ES256", "x")
        started = time.monotonic()
        for i in range(50):
            token = idp.token(forger, audience=tenant.resource_identifier, kid=f"forged-{i}")
            assert call("/mcp/acme", token=token).status == 401
        assert idp.jwks_hits <= 2 + int(time.monotonic() - started)  # at most one per second
        assert idp.jwks_hits >= 1


def test_known_kid_with_another_algorithm_is_refused_without_refetch(
    shared_store, make_tenant, make_provider, idp, signing_keys, call
):
    tenant = make_tenant("acme")
    make_provider(tenant, idp)
    good = idp.token(signing_keys["RS256"], audience=tenant.resource_identifier)
    assert call("/mcp/acme", token=good).status == 200
    # Signed with the EC key but naming the RSA key's kid.
    confused = idp.token(signing_keys["ES256"], audience=tenant.resource_identifier, kid="rsa-1")
    for _ in range(3):
        response = call("/mcp/acme", token=confused)
        assert response.status == 401
        assert "signing key is not known" in response.challenge
    assert idp.jwks_hits == 1


class TestJwtKit:
    def test_symmetric_and_mismatched_keys_are_never_loaded(self, signing_keys):
        rsa_jwk = signing_keys["RS256"].jwk()
        assert jwtkit.load_key(rsa_jwk, algorithm="RS256") is not None
        assert jwtkit.load_key(rsa_jwk, algorithm="ES256") is None
        assert jwtkit.load_key(rsa_jwk, algorithm="HS256") is None
        assert jwtkit.load_key({"kty": "oct", "k": "c2VjcmV0"}, algorithm="HS256") is None
        assert jwtkit.load_key({**rsa_jwk, "use": "enc"}, algorithm="RS256") is None
        ec_jwk = {k: v for k, v in signing_keys["ES256"].jwk().items() if k != "alg"}
        assert jwtkit.load_key(ec_jwk, algorithm="RS256") is None
        assert jwtkit.load_key(ec_jwk, algorithm="ES256") is not None

    def test_private_members_are_dropped(self):
        assert jwtkit.public_jwk({"kty": "RSA", "n": "x", "e": "AQAB", "d": "secret"}) == {
            "kty": "RSA",
            "n": "x",
            "e": "AQAB",
        }
        assert jwtkit.public_jwk({"kty": "oct", "k": "x"}) is None

    def test_provider_config_from_model(self, make_tenant, make_provider, idp):
        provider = make_provider(make_tenant("acme"), idp, algorithms=["ES256"])
        config = provider_config(provider)
        assert config.audience == "http://testserver/mcp/acme"
        assert config.algorithms == ("ES256",)
