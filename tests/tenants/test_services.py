from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from tenants import key_material, services
from tenants.models import ApiKey, AuditLog, IdentityProvider, Tenant

pytestmark = pytest.mark.django_db


def audit_actions(tenant: Tenant) -> list[str]:
    return list(
        AuditLog.objects.filter(tenant=tenant).order_by("id").values_list("action", flat=True)
    )


class TestTenant:
    def test_create_writes_tenant_and_audit(self, actor):
        tenant = services.tenant_create(slug="acme", name="Acme", toolsets=["builtin"], actor=actor)
        assert tenant.is_active
        assert tenant.resource_identifier == "http://testserver/mcp/acme"
        record = AuditLog.objects.get(tenant=tenant)
        assert (record.action, record.actor, record.target) == (
            "tenant.create",
            "test:pytest",
            "acme",
        )
        assert record.client_ip == "127.0.0.1"
        assert record.request_id == "req-test"

    def test_default_toolsets(self, actor):
        tenant = services.tenant_create(slug="acme", name="Acme", actor=actor)
        assert tenant.enabled_toolsets == ["builtin"]

    @pytest.mark.parametrize(
        "slug",
        [
            "admin",
            "mcp",
            "well-known",
            "A",
            "-acme",
            "acme-",
            "ac--me",
            "a",
            "1acme",
            "acme_x",
            "x" * 64,
        ],
    )
    def test_bad_slug_refused_and_nothing_written(self, actor, slug):
        with pytest.raises(ValidationError):
            services.tenant_create(slug=slug, name="X", actor=actor)
        assert not Tenant.objects.exists()
        assert not AuditLog.objects.exists()

    def test_duplicate_slug_refused(self, actor, tenant):
        with pytest.raises(ValidationError):
            services.tenant_create(slug="acme", name="Again", actor=actor)
        assert Tenant.objects.count() == 1

    def test_unknown_toolset_refused(self, actor):
        with pytest.raises(ValidationError, match="Unknown tool set"):
            services.tenant_create(slug="acme", name="Acme", toolsets=["nope"], actor=actor)
        assert not Tenant.objects.exists()

    def test_suspend_and_reactivate_are_audited_once(self, actor, tenant):
        services.tenant_suspend(tenant=tenant, actor=actor)
        services.tenant_suspend(tenant=tenant, actor=actor)  # no-op, no second record
        tenant.refresh_from_db()
        assert tenant.status == Tenant.Status.SUSPENDED
        services.tenant_reactivate(tenant=tenant, actor=actor)
        tenant.refresh_from_db()
        assert tenant.is_active
        assert audit_actions(tenant) == ["tenant.create", "tenant.suspend", "tenant.reactivate"]

    def test_update_records_changes(self, actor, tenant):
        services.tenant_update(
            tenant=tenant, name="Acme Inc", toolsets=["builtin", "conformance"], actor=actor
        )
        record = AuditLog.objects.filter(action="tenant.update").get()
        assert record.details == {"name": "Acme Inc", "toolsets": ["builtin", "conformance"]}

    def test_audit_rolls_back_with_the_change(self, actor):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.tenant_create(slug="acme", name="Acme", actor=actor)
            raise RuntimeError("boom")
        assert not Tenant.objects.exists()
        assert not AuditLog.objects.exists()


class TestApiKey:
    def test_raw_key_returned_once_and_only_digest_stored(self, actor, tenant):
        key, raw = services.api_key_create(
            tenant=tenant, name="ci", scopes=["tools:read"], actor=actor
        )
        assert raw.startswith("mcpk_") and key_material.looks_like_api_key(raw)
        assert len(raw) == len("mcpk_") + 43
        stored = ApiKey.objects.get(pk=key.pk)
        assert stored.digest == key_material.digest_of(raw)
        assert stored.last_four == raw[-4:]
        for value in (str(stored), repr(stored), stored.display_hint):
            assert raw not in value
            assert raw[5:] not in value
        row = ApiKey.objects.filter(pk=key.pk).values().get()
        assert not any(raw in str(value) or raw[5:] in str(value) for value in row.values())
        audit = AuditLog.objects.get(action="api_key.create")
        assert raw not in str(audit.details) and audit.target == key.public_id

    def test_keys_are_unique(self, actor, tenant):
        raws = {
            services.api_key_create(tenant=tenant, name=f"k{i}", actor=actor)[1] for i in range(20)
        }
        assert len(raws) == 20

    def test_bad_scope_refused(self, actor, tenant):
        with pytest.raises(ValidationError, match="Invalid scope"):
            services.api_key_create(tenant=tenant, name="ci", scopes=['bad"scope'], actor=actor)
        assert not ApiKey.objects.exists()
        assert audit_actions(tenant) == ["tenant.create"]

    def test_past_expiry_refused(self, actor, tenant):
        with pytest.raises(ValidationError):
            services.api_key_create(
                tenant=tenant, name="ci", expires_at=timezone.now() - timedelta(days=1), actor=actor
            )
        assert not ApiKey.objects.exists()

    def test_revoke(self, actor, tenant):
        key, _ = services.api_key_create(tenant=tenant, name="ci", actor=actor)
        services.api_key_revoke(key=key, actor=actor)
        services.api_key_revoke(key=key, actor=actor)
        key.refresh_from_db()
        assert key.is_revoked
        assert not ApiKey.objects.usable().exists()
        assert audit_actions(tenant).count("api_key.revoke") == 1

    def test_usable_excludes_expired(self, actor, tenant):
        key, _ = services.api_key_create(
            tenant=tenant, name="ci", expires_at=timezone.now() + timedelta(days=1), actor=actor
        )
        assert ApiKey.objects.usable().filter(pk=key.pk).exists()
        ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert not ApiKey.objects.usable().filter(pk=key.pk).exists()

    @override_settings(MCP_SERVER={"API_KEY_PREFIX": "acme_"})
    def test_prefix_is_configurable(self, actor, tenant):
        _, raw = services.api_key_create(tenant=tenant, name="ci", actor=actor)
        assert raw.startswith("acme_") and key_material.looks_like_api_key(raw)

    @pytest.mark.parametrize(
        "candidate",
        [
            "",
            "mcpk_",
            "mcpk_short",
            "Bearer mcpk_" + "a" * 43,
            "mcpk_" + "a" * 42 + "!",
            "mcpk_" + "a" * 44,
        ],
    )
    def test_format_check_rejects_junk(self, candidate):
        assert not key_material.looks_like_api_key(candidate)


class TestIdentityProvider:
    def test_create_with_defaults(self, actor, tenant):
        provider = services.identity_provider_create(
            tenant=tenant, issuer="https://idp.example.com/", actor=actor
        )
        assert provider.algorithms == ["RS256", "ES256"]
        assert provider.effective_audience == tenant.resource_identifier
        assert audit_actions(tenant)[-1] == "identity_provider.create"

    @pytest.mark.parametrize("algorithms", [["HS256"], ["none"], [], ["RS256", "HS512"]])
    def test_symmetric_or_none_algorithms_refused(self, actor, tenant, algorithms):
        with pytest.raises(ValidationError):
            services.identity_provider_create(
                tenant=tenant, issuer="https://idp.example.com", algorithms=algorithms, actor=actor
            )
        assert not IdentityProvider.objects.exists()

    @pytest.mark.parametrize(
        "issuer", ["http://idp.example.com", "ftp://idp.example.com", "not a url"]
    )
    def test_insecure_issuer_refused(self, actor, tenant, issuer):
        with pytest.raises(ValidationError):
            services.identity_provider_create(tenant=tenant, issuer=issuer, actor=actor)

    def test_loopback_http_allowed_for_local_testing(self, actor, tenant):
        provider = services.identity_provider_create(
            tenant=tenant, issuer="http://127.0.0.1:9000", actor=actor
        )
        assert provider.pk

    def test_org_claim_needs_value(self, actor, tenant):
        with pytest.raises(ValidationError, match="org claim"):
            services.identity_provider_create(
                tenant=tenant, issuer="https://idp.example.com", org_claim="org_id", actor=actor
            )

    def test_disable(self, actor, tenant):
        provider = services.identity_provider_create(
            tenant=tenant, issuer="https://idp.example.com", actor=actor
        )
        services.identity_provider_set_enabled(provider=provider, enabled=False, actor=actor)
        provider.refresh_from_db()
        assert not provider.enabled
        assert audit_actions(tenant)[-1] == "identity_provider.disable"


class TestAuditLogIsAppendOnly:
    def test_no_update_or_delete(self, tenant):
        record = AuditLog.objects.first()
        record.action = "forged"
        with pytest.raises(PermissionError):
            record.save()
        with pytest.raises(PermissionError):
            record.delete()
        with pytest.raises(PermissionError):
            AuditLog.objects.filter(pk=record.pk).update(action="forged")
        with pytest.raises(PermissionError):
            AuditLog.objects.all().delete()
        assert AuditLog.objects.get(pk=record.pk).action == "tenant.create"
