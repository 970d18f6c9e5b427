"""One contract that every way of authenticating must pass, run for API keys and for JWTs
(RS256 and ES256, against a JWKS served over loopback), through the real ASGI middleware."""

import hashlib
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_redis import get_redis_connection

from mcpserver.process import process_state
from sessions_store import store as store_module
from sessions_store.backends.base import entry_name
from tenants import services
from tenants.auth import tokencache
from tenants.models import ApiKey, AuditLog, Tenant
from tests.tenants.auth.conftest import wait_until_live
from tests.tenants.auth.idp import hmac_token, new_key, unsigned_token

pytestmark = pytest.mark.django_db(transaction=True)


def metadata_url(slug: str) -> str:
    return f"http://testserver/.well-known/oauth-protected-resource/mcp/{slug}"


def challenge(error: str = "", description: str = "", *, slug: str = "acme") -> str:
    if not error:
        return f'Bearer resource_metadata="{metadata_url(slug)}"'
    return (
        f'Bearer error="{error}", error_description="{description}", '
        f'resource_metadata="{metadata_url(slug)}"'
    )


class AuthPathContract:
    """Subclasses provide the ``path`` fixture: an object with ``tenant`` and ``other``
    (tenants), ``good()``, ``forged()``, ``expired()``, ``revoke(credential)`` and the
    descriptions a client sees for each failure."""

    def test_valid_credential_reaches_the_app_with_its_principal(self, path, call):
        response = call("/mcp/acme", token=path.good())
        assert response.status == 200, response.body
        body = response.json()
        assert body["tenant"] == "acme" and body["tenant_id"] == path.tenant.pk
        assert body["method"] == path.method
        assert body["subject"] == path.subject
        assert set(path.scopes) <= set(body["scopes"])

    def test_missing_header(self, path, call):
        response = call("/mcp/acme")
        assert response.status == 401
        assert response.challenge == challenge()

    @pytest.mark.parametrize(
        "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "Token abc"]
    )
    def test_malformed_header(self, path, call, header):
        response = call("/mcp/acme", headers={"authorization": header})
        assert response.status == 401
        assert response.challenge == challenge(
            "invalid_request", "Send the credential as 'Authorization: Bearer <token>'."
        )

    def test_forged_credential(self, path, call):
        response = call("/mcp/acme", token=path.forged())
        assert response.status == 401
        assert response.challenge == challenge("invalid_token", path.forged_description)

    def test_credential_of_another_tenant(self, path, call):
        credential = path.good()
        assert call("/mcp/acme", token=credential).status == 200
        response = call("/mcp/globex", token=credential)
        assert response.status == 401
        assert response.challenge == challenge(
            "invalid_token", path.other_tenant_description, slug="globex"
        )

    def test_expired_credential(self, path, call):
        response = call("/mcp/acme", token=path.expired())
        assert response.status == 401
        assert response.challenge == challenge("invalid_token", path.expired_description)

    def test_revoked_credential_is_refused_at_once(self, path, call):
        credential = path.good()
        assert call("/mcp/acme", token=credential).status == 200
        assert call("/mcp/acme", token=credential).status == 200  # now from the cache
        path.revoke()
        response = call("/mcp/acme", token=credential)
        assert response.status == 401
        assert response.challenge == challenge("invalid_token", path.revoked_description)

    def test_suspended_tenant_looks_like_an_unknown_one(self, path, call, actor):
        credential = path.good()
        assert call("/mcp/acme", token=credential).status == 200
        services.tenant_suspend(tenant=path.tenant, actor=actor)
        same_id = {"x-request-id": "probe"}  # every response names its own request otherwise
        suspended = call("/mcp/acme", token=credential, headers=same_id)
        unknown = call("/mcp/nobody", token=credential, headers=same_id)
        assert suspended.status == unknown.status == 404
        assert suspended.headers == unknown.headers and suspended.body == unknown.body
        assert suspended.challenge is None

    @pytest.mark.parametrize("with_header", [False, True])
    def test_credential_in_query_string_is_refused(self, path, call, with_header):
        credential = path.good()
        response = call(
            f"/mcp/acme?access_token={credential}", token=credential if with_header else None
        )
        assert response.status == 401
        assert response.challenge == challenge(
            "invalid_request",
            "Credentials in the query string are refused; use the Authorization header.",
        )

    def test_cached_under_digest_never_the_credential(self, path, call, shared_store):
        credential = path.good()
        assert call("/mcp/acme", token=credential).status == 200
        fingerprint = hashlib.sha256(credential.encode()).hexdigest()
        name = entry_name(tokencache.cache_key(path.tenant.pk, fingerprint))
        redis = get_redis_connection("store")
        ttl_ms = redis.pttl(name)
        assert 0 < ttl_ms <= path.lifetime * 1000
        for key in redis.scan_iter(count=1000):
            assert credential.encode() not in key
            if redis.type(key) == b"string":
                value = redis.get(key)
                assert credential.encode() not in value
                assert credential.split(".")[-1][:20].encode() not in value

    def test_revoked_while_cached_by_another_instance(self, path, call, shared_store):
        credential = path.good()
        assert call("/mcp/acme", token=credential).status == 200
        # A second instance: its own process tier and revocation listener, the same Redis.
        other = store_module.build_store()
        original = store_module.get_store()
        try:
            wait_until_live(other)
            fingerprint = hashlib.sha256(credential.encode()).hexdigest()
            key = tokencache.cache_key(path.tenant.pk, fingerprint)
            assert other.get(key) is not None  # now held in the other's process tier
            assert other.cache.get(entry_name(key)) is not None
            path.revoke()
            started = time.monotonic()
            while other.cache.get(entry_name(key)) is not None:
                assert time.monotonic() - started < 1.0, "revocation took over a second"
                time.sleep(0.01)
            store_module._store.replace(other)  # requests are now answered by the other instance
            response = call("/mcp/acme", token=credential)
            assert response.status == 401
            assert response.challenge == challenge("invalid_token", path.revoked_description)
        finally:
            store_module._store.replace(original)
            other.close()

    def test_failures_are_audited_but_a_flood_is_capped(self, path, call):
        forged = path.forged()
        for _ in range(15):
            assert call("/mcp/acme", token=forged, client="10.1.1.1").status == 401
        call("/mcp/acme", token=forged, client="10.2.2.2")
        failures = AuditLog.objects.filter(action="auth.failure")
        assert failures.filter(client_ip="10.1.1.1").count() == 10
        assert failures.filter(client_ip="10.2.2.2").count() == 1
        record = failures.first()
        assert record is not None and record.tenant == path.tenant
        assert record.outcome == AuditLog.Outcome.FAILURE
        assert forged not in str(record.details)

    def test_audit_records_carry_the_request_id_the_client_sees(self, path, call):
        refused = call("/mcp/acme", token=path.forged(), headers={"x-request-id": "trace-42"})
        assert refused.headers["x-request-id"] == "trace-42"
        assert AuditLog.objects.get(action="auth.failure").request_id == "trace-42"
        accepted = call("/mcp/acme", token=path.good())
        generated = accepted.headers["x-request-id"]
        assert len(generated) == 32
        assert AuditLog.objects.get(action="auth.first_use").request_id == generated

    def test_first_use_on_an_instance_is_audited_once(self, path, call):
        credential = path.good()
        for _ in range(3):
            assert call("/mcp/acme", token=credential).status == 200
        records = AuditLog.objects.filter(action="auth.first_use")
        assert records.count() == 1
        assert records.get().details["method"] == path.method
        assert credential not in str(records.get().details)


# --- API keys ---------------------------------------------------------------------------


class ApiKeyPath:
    method = "api_key"
    scopes = ("tools:read",)
    lifetime = 300
    forged_description = "The API key is not valid."
    other_tenant_description = "The API key is not valid."
    expired_description = "The API key has expired."
    revoked_description = "The API key has been revoked."

    def __init__(self, tenant: Tenant, other: Tenant, make_api_key: Any, actor: Any) -> None:
        self.tenant, self.other = tenant, other
        self._make, self._actor = make_api_key, actor
        self.key, self._raw = make_api_key(tenant, scopes=list(self.scopes))
        self.subject = f"apikey:{self.key.public_id}"

    def good(self) -> str:
        return self._raw

    def forged(self) -> str:
        return self._raw[:-4] + ("AAAA" if not self._raw.endswith("AAAA") else "BBBB")

    def expired(self) -> str:
        key, raw = self._make(self.tenant, name="old", expires_at=timezone.now() + timedelta(1))
        ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        return raw

    def revoke(self) -> None:
        services.api_key_revoke(key=self.key, actor=self._actor)


class TestApiKeys(AuthPathContract):
    @pytest.fixture
    def path(self, shared_store, make_tenant, make_api_key, actor):
        return ApiKeyPath(make_tenant("acme"), make_tenant("globex"), make_api_key, actor)

    def test_junk_is_refused_before_any_lookup(self, path, call):
        assert call("/mcp/acme", token=path.good()).status == 200  # tenant config now cached
        with CaptureQueriesContext(connection) as queries:
            response = call("/mcp/acme", token="mcpk_" + "x" * 10)
        # The audit record of the failure is the only query: no key lookup. (The revocation
        # ledger's reload, at most once a second per process, may fall in here by chance.)
        assert [
            q["sql"].split()[:3]
            for q in queries.captured_queries
            if '"tenants_revocation"' not in q["sql"]
        ] == [["INSERT", "INTO", '"tenants_auditlog"']]
        assert response.status == 401
        assert response.challenge == challenge("invalid_token", "The access token is malformed.")

    def test_last_used_written_at_most_once_per_interval(self, path, call):
        raw = path.good()
        for _ in range(3):
            assert call("/mcp/acme", token=raw).status == 200
        path.key.refresh_from_db()
        first = path.key.last_used_at
        assert first is not None
        assert call("/mcp/acme", token=raw).status == 200
        path.key.refresh_from_db()
        assert path.key.last_used_at == first

    def test_scopes_are_the_keys_own(self, path, call):
        assert call("/mcp/acme", token=path.good()).json()["scopes"] == ["tools:read"]


# --- JWTs -------------------------------------------------------------------------------


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
        settings.MCP_SERVER = {**settings.MCP_SERVER, "JWKS_REFETCH_COOLDOWN": 2}
        assert call("/mcp/acme", token=path.good()).status == 200
        fetched = path.idp.jwks_hits
        assert fetched == 1
        rotated = new_key(self.alg, "rotated-key")
        token = path.idp.token(rotated, audience=path.tenant.resource_identifier)
        first_refetch = time.monotonic()
        for _ in range(5):
            response = call("/mcp/acme", token=token)
            assert response.status == 401
            assert response.challenge == challenge(
                "invalid_token", "The token's signing key is not known."
            )
            time.sleep(0.25)  # past the per-process recheck interval, within the cooldown
        assert path.idp.jwks_hits == fetched + 1
        # The provider publishes the new key: once the cooldown is over it is picked up.
        path.idp.keys.append(rotated)
        time.sleep(max(0.0, first_refetch + 2.1 - time.monotonic()))
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
