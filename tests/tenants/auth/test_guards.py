"""Host and Origin guards, challenges, scope refusals and the RFC 9728 metadata document."""

import pytest
from asgiref.sync import async_to_sync

from mcpserver.errors import InsufficientScope
from mcpserver.protocol.guard import host_allowed, origin_allowed
from tenants.auth import auditing, background, challenges
from tenants.auth.authorization import authorize
from tenants.models import AuditLog
from tenants.principal import AuthMethod, Principal
from tests.tenants.auth.paths import challenge, metadata_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme(shared_store, make_tenant, make_api_key):
    tenant = make_tenant("acme")
    _, raw = make_api_key(tenant, scopes=["tools:read"])
    return tenant, raw


class TestHostAndOrigin:
    @pytest.mark.parametrize(
        "origin",
        ["https://evil.example.com", "http://testserver.evil.com", "null", "http://127.0.0.1:8000"],
    )
    def test_bad_origin_is_403_before_anything_else(self, acme, call, origin):
        _, raw = acme
        response = call("/mcp/acme", token=raw, headers={"origin": origin})
        assert response.status == 403
        assert response.challenge is None
        # The same for a tenant that does not exist: nothing about tenants is revealed.
        assert call("/mcp/nobody", headers={"origin": origin}).status == 403

    @pytest.mark.parametrize("origin", [None, "http://testserver", "HTTP://TESTSERVER"])
    def test_own_origin_or_none_passes(self, acme, call, origin):
        _, raw = acme
        headers = {"origin": origin} if origin else {}
        assert call("/mcp/acme", token=raw, headers=headers).status == 200

    def test_configured_origin_passes(self, acme, call, settings):
        settings.MCP_SERVER = {**settings.MCP_SERVER, "ALLOWED_ORIGINS": ["https://app.example"]}
        _, raw = acme
        assert call("/mcp/acme", token=raw, headers={"origin": "https://app.example"}).status == 200

    def test_loopback_origins_only_in_debug(self, settings):
        assert not origin_allowed("http://localhost:6274")
        settings.DEBUG = True
        assert origin_allowed("http://localhost:6274")
        assert origin_allowed("http://127.0.0.1:3000")
        assert not origin_allowed("http://evil.example.com")

    def test_cors_for_an_allowed_browser_origin(self, acme, call, settings):
        settings.MCP_SERVER = {**settings.MCP_SERVER, "ALLOWED_ORIGINS": ["https://app.example"]}
        origin = {"origin": "https://app.example"}
        preflight = call(
            "/mcp/acme",
            method="OPTIONS",
            headers={**origin, "access-control-request-method": "POST"},
        )
        assert preflight.status == 204
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert "authorization" in preflight.headers["access-control-allow-headers"]
        refused = call("/mcp/acme", headers=origin)
        assert refused.status == 401
        assert refused.headers["access-control-allow-origin"] == "https://app.example"
        assert "www-authenticate" in refused.headers["access-control-expose-headers"]
        _, raw = acme
        assert (
            call("/mcp/acme", token=raw, headers=origin).headers["access-control-allow-origin"]
            == "https://app.example"
        )
        # A preflight from another origin is refused like any request from it.
        assert (
            call(
                "/mcp/acme",
                method="OPTIONS",
                headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
            ).status
            == 403
        )

    def test_bad_host_is_refused(self, acme, call):
        _, raw = acme
        response = call("/mcp/acme", token=raw, headers={"host": "evil.example.com"})
        assert response.status == 403
        assert not host_allowed(None)
        assert host_allowed("testserver") and host_allowed("127.0.0.1:8000")


class TestChallenges:
    def test_scope_advertised_in_401_when_known(self, acme, call, settings):
        settings.MCP_SERVER = {**settings.MCP_SERVER, "SCOPES_SUPPORTED": ["b:x", "a:y"]}
        response = call("/mcp/acme")
        assert response.status == 401
        assert response.challenge == (
            f'Bearer resource_metadata="{metadata_url("acme")}", scope="a:y b:x"'
        )

    def test_the_challenges_of_a_401_and_a_403(self, acme):
        tenant, _ = acme
        assert challenges.unauthorized_challenge(tenant, "invalid_token", "Expired.") == challenge(
            "invalid_token", "Expired."
        )
        assert challenges.insufficient_scope_challenge(tenant, ["b", "a", "b"]) == (
            'Bearer error="insufficient_scope", error_description="This request needs '
            f'the scope(s): a b", resource_metadata="{metadata_url("acme")}", '
            'scope="a b"'
        )

    def test_description_cannot_break_the_header(self):
        value = challenges.bearer_challenge(
            resource_metadata="http://x", error="invalid_token", description='a"b\\c\r\nd'
        )
        assert (
            value
            == 'Bearer error="invalid_token", error_description="abcd", resource_metadata="http://x"'
        )

    def test_insufficient_scope_names_every_needed_scope_and_is_audited(self, acme):
        tenant, _ = acme
        principal = Principal(
            tenant_id=tenant.pk,
            tenant_slug=tenant.slug,
            subject="user-1",
            auth_method=AuthMethod.JWT,
            fingerprint="f" * 64,
            scopes=frozenset({"tools:read"}),
        )
        async_to_sync(authorize)(tenant=tenant, principal=principal, needed={"tools:read"})
        needed = frozenset({"tools:read", "files:write", "admin"})
        with pytest.raises(InsufficientScope) as refused:
            async_to_sync(authorize)(
                tenant=tenant, principal=principal, needed=needed, client_ip="10.0.0.9"
            )
        assert refused.value.scopes == needed and refused.value.http_status == 403
        record = AuditLog.objects.get(action="auth.insufficient_scope")
        assert record.outcome == AuditLog.Outcome.DENIED
        assert record.details["missing"] == ["admin", "files:write"]
        assert record.client_ip == "10.0.0.9"

    def test_audit_runs_off_the_event_loop(self, acme):
        tenant, _ = acme
        principal = Principal(
            tenant_id=tenant.pk,
            tenant_slug=tenant.slug,
            subject="user-1",
            auth_method=AuthMethod.JWT,
            fingerprint="e" * 64,
        )

        async def inside_loop() -> int:
            auditing.first_use(tenant=tenant, principal=principal, client_ip=None)
            pending = len(background._pending)
            await background.drain()
            return pending

        assert async_to_sync(inside_loop)() == 1
        assert AuditLog.objects.filter(action="auth.first_use").count() == 1


class TestProtectedResourceMetadata:
    def test_document(self, client, make_tenant, make_provider, idp, settings):
        settings.MCP_SERVER = {**settings.MCP_SERVER, "SCOPES_SUPPORTED": ["tools:read"]}
        tenant = make_tenant("acme", name="Acme Corp")
        make_provider(tenant, idp)
        response = client.get("/.well-known/oauth-protected-resource/mcp/acme")
        assert response.status_code == 200
        assert response.json() == {
            "resource": "http://testserver/mcp/acme",
            "authorization_servers": [idp.issuer],
            "scopes_supported": ["tools:read"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Acme Corp",
        }
        assert metadata_url("acme") == tenant.resource_metadata_url

    def test_api_key_only_tenant_names_no_authorization_server(self, client, make_tenant):
        make_tenant("keys-only")
        document = client.get("/.well-known/oauth-protected-resource/mcp/keys-only").json()
        assert "authorization_servers" not in document
        assert document["bearer_methods_supported"] == ["header"]

    def test_unknown_and_suspended_look_the_same(self, client, make_tenant, actor):
        from tenants import services

        tenant = make_tenant("acme")
        services.tenant_suspend(tenant=tenant, actor=actor)
        suspended = client.get("/.well-known/oauth-protected-resource/mcp/acme")
        unknown = client.get("/.well-known/oauth-protected-resource/mcp/nobody")
        assert suspended.status_code == unknown.status_code == 404
        assert suspended.content == unknown.content
