"""The contract every way of authenticating must pass, through the real ASGI middleware.

Run for API keys (``test_api_key_path``) and for JWTs, RS256 and ES256 against a JWKS served
over loopback (``test_jwt_path``)."""

import hashlib
import time

import pytest
from django_redis import get_redis_connection

from sessions_store import store as store_module
from sessions_store.backends.base import entry_name
from tenants import services
from tenants.auth import tokencache
from tenants.models import AuditLog
from tests.tenants.auth.conftest import wait_until_live


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
