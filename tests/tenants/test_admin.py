"""The onboarding flow an operator follows in Django admin, through the test client."""

import json
import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tenants import key_material
from tenants.models import ApiKey, AuditLog, IdentityProvider, Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests")
    client.force_login(user)
    return client


def changelist(model: str) -> str:
    return reverse(f"admin:tenants_{model}_changelist")


def test_onboard_a_customer_start_to_finish(admin_client, caplog):
    caplog.set_level("DEBUG")
    # 1. Create the tenant.
    response = admin_client.post(
        reverse("admin:tenants_tenant_add"),
        {"slug": "acme", "name": "Acme Corp", "enabled_toolsets": ["builtin"]},
    )
    assert response.status_code == 302, response.content
    tenant = Tenant.objects.get(slug="acme")
    assert tenant.enabled_toolsets == ["builtin"]

    # The tenant page shows the endpoint and links to add credentials.
    page = admin_client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk]))
    assert page.status_code == 200
    assert b"http://testserver/mcp/acme" in page.content
    assert b"Add identity provider" in page.content and b"Create API key" in page.content

    # 2. Add its identity provider.
    response = admin_client.post(
        reverse("admin:tenants_identityprovider_add"),
        {
            "tenant": tenant.pk,
            "issuer": "https://login.acme.example/",
            "jwks_uri": "",
            "audience": "",
            "algorithms": ["RS256", "ES256"],
            "org_claim": "",
            "org_value": "",
            "scopes_claim": "",
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.content
    provider = IdentityProvider.objects.get(tenant=tenant)
    assert provider.algorithms == ["RS256", "ES256"]

    # 3. Create an API key: POST, redirect, and the raw key on the page it leads to, once.
    created = admin_client.post(
        reverse("admin:tenants_apikey_add"),
        {"tenant": tenant.pk, "name": "laptop", "scopes": "tools:read, tools:call"},
    )
    assert created.status_code == 302
    response = admin_client.get(created["Location"])
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    match = re.search(rb'id="raw-api-key">([^<]+)<', response.content)
    assert match, response.content
    raw = match.group(1).decode()
    assert key_material.looks_like_api_key(raw)
    key = ApiKey.objects.get(tenant=tenant)
    assert key.digest == key_material.digest_of(raw) and key.scopes == ["tools:read", "tools:call"]
    assert f"claude mcp add --transport http {tenant.slug}".encode() in response.content

    # A reload shows the page again without the key, and creates nothing.
    reloaded = admin_client.get(created["Location"])
    assert reloaded.status_code == 200 and b'id="key-already-shown"' in reloaded.content
    assert raw.encode() not in reloaded.content
    assert ApiKey.objects.filter(tenant=tenant).count() == 1
    # The session held only the key sealed, never in clear.
    from django.contrib.sessions.models import Session

    assert all(raw not in str(s.get_decoded()) for s in Session.objects.all())

    # ... and never again: not in the list, the change page, the tenant page or the audit log.
    for url in (
        changelist("apikey"),
        reverse("admin:tenants_apikey_change", args=[key.pk]),
        reverse("admin:tenants_tenant_change", args=[tenant.pk]),
        changelist("auditlog"),
        reverse("admin:tenants_auditlog_change", args=[AuditLog.objects.first().pk]),
    ):
        page = admin_client.get(url)
        assert page.status_code == 200, url
        assert raw.encode() not in page.content, url
        assert raw[5:].encode() not in page.content, url
        assert key.public_id.encode() in page.content or "auditlog" in url

    assert raw not in caplog.text and raw[5:] not in caplog.text

    # 4. Suspend, reactivate, revoke.
    admin_client.post(
        changelist("tenant"), {"action": "suspend_tenants", "_selected_action": [tenant.pk]}
    )
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.SUSPENDED
    admin_client.post(
        changelist("tenant"), {"action": "reactivate_tenants", "_selected_action": [tenant.pk]}
    )
    tenant.refresh_from_db()
    assert tenant.is_active
    admin_client.post(changelist("apikey"), {"action": "revoke_keys", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.is_revoked

    # Every step is in the audit log, attributed to the admin user.
    actions = list(AuditLog.objects.order_by("id").values_list("action", "actor"))
    assert actions == [
        ("tenant.create", "admin:ops"),
        ("identity_provider.create", "admin:ops"),
        ("api_key.create", "admin:ops"),
        ("tenant.suspend", "admin:ops"),
        ("tenant.reactivate", "admin:ops"),
        ("api_key.revoke", "admin:ops"),
    ]
    assert AuditLog.objects.filter(client_ip="127.0.0.1").count() == len(actions)
    assert AuditLog.objects.exclude(request_id="").count() == len(actions)


def test_bad_input_in_admin_forms_changes_nothing(admin_client):
    response = admin_client.post(
        reverse("admin:tenants_tenant_add"), {"slug": "admin", "name": "X", "enabled_toolsets": []}
    )
    assert response.status_code == 200
    assert b"reserved name" in response.content
    assert not Tenant.objects.exists()
    assert not AuditLog.objects.exists()


def test_identity_provider_form_refuses_hmac_and_http(admin_client, tenant):
    response = admin_client.post(
        reverse("admin:tenants_identityprovider_add"),
        {"tenant": tenant.pk, "issuer": "http://idp.example.com", "algorithms": ["HS256"]},
    )
    assert response.status_code == 200
    assert not IdentityProvider.objects.exists()


def test_api_key_with_past_expiry_refused(admin_client, tenant):
    response = admin_client.post(
        reverse("admin:tenants_apikey_add"),
        {
            "tenant": tenant.pk,
            "name": "old",
            "scopes": "",
            "expires_at_0": "2000-01-01",
            "expires_at_1": "00:00:00",
        },
    )
    assert response.status_code == 200
    assert b"must be in the future" in response.content
    assert not ApiKey.objects.exists()


def test_audit_log_is_read_only_and_filterable(admin_client, tenant, make_tenant):
    make_tenant("globex")
    url = changelist("auditlog")
    page = admin_client.get(url, {"tenant__id__exact": tenant.pk})
    assert page.status_code == 200
    assert {row.tenant.slug for row in page.context["cl"].result_list} == {"acme"}
    found = admin_client.get(url, {"q": "globex"}).context["cl"].result_list
    assert [row.target for row in found] == ["globex"]
    record = AuditLog.objects.first()
    assert admin_client.get(reverse("admin:tenants_auditlog_add")).status_code == 403
    assert (
        admin_client.get(reverse("admin:tenants_auditlog_delete", args=[record.pk])).status_code
        == 403
    )
    admin_client.post(
        reverse("admin:tenants_auditlog_change", args=[record.pk]), {"action": "forged"}
    )
    record.refresh_from_db()
    assert record.action == "tenant.create"


def test_nothing_is_deletable(admin_client, tenant, make_api_key):
    key, _ = make_api_key(tenant)
    for model, pk in (("tenant", tenant.pk), ("apikey", key.pk)):
        assert (
            admin_client.get(reverse(f"admin:tenants_{model}_delete", args=[pk])).status_code == 403
        )
    assert Tenant.objects.filter(pk=tenant.pk).exists()


@pytest.mark.parametrize("model", ["tenant", "identityprovider", "apikey", "auditlog"])
def test_list_pages_render_with_search_and_filters(admin_client, tenant, make_api_key, model):
    make_api_key(tenant)
    assert admin_client.get(changelist(model)).status_code == 200
    assert admin_client.get(changelist(model), {"q": "acme"}).status_code == 200
    assert admin_client.get(reverse(f"admin:tenants_{model}_add")).status_code in (200, 403)


def test_tenant_page_shows_the_catalogue_and_the_tools_list_preview(admin_client, make_tenant):
    tenant = make_tenant("acme", toolsets=["builtin"])
    page = admin_client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    # Every set with its description, every tool with its description, scopes, annotations.
    assert "whoami shows who the server thinks is calling" in html
    assert "conformance suite expects" in html and "internal: test fixture" in html
    assert "Shows who the server thinks is calling" in html
    assert "readOnlyHint: true" in html
    assert "test_simple_text" in html
    # The preview is the JSON a client gets: the builtin tool only.
    preview = re.search(r'<pre id="tools-list-preview"[^>]*>(.*?)</pre>', html, re.S)
    assert preview is not None
    tools = json.loads(unescape(preview.group(1)))["tools"]
    assert [t["name"] for t in tools] == ["whoami"]
    assert tools[0]["description"].startswith("Shows who the server thinks is calling")


def test_tenant_page_saves_sets_and_disabled_tools(admin_client, make_tenant):
    tenant = make_tenant("acme", toolsets=["builtin"])
    url = reverse("admin:tenants_tenant_change", args=[tenant.pk])
    response = admin_client.post(
        url,
        {
            "name": "Acme Inc",
            "enabled_toolsets": ["builtin", "conformance"],
            "disabled_tools": ["whoami", "test_audio_content"],
        },
    )
    assert response.status_code == 302, response.content
    tenant.refresh_from_db()
    assert tenant.name == "Acme Inc"
    assert tenant.enabled_toolsets == ["builtin", "conformance"]
    assert tenant.disabled_tools == ["test_audio_content", "whoami"]
    record = AuditLog.objects.get(action="tenant.set_tools")
    assert record.details["after"]["disabled_tools"] == ["test_audio_content", "whoami"]
    assert AuditLog.objects.filter(action="tenant.update").exists()

    html = admin_client.get(url).content.decode()
    preview = re.search(r'<pre id="tools-list-preview"[^>]*>(.*?)</pre>', html, re.S)
    names = [t["name"] for t in json.loads(unescape(preview.group(1)))["tools"]]
    assert "whoami" not in names and "test_audio_content" not in names
    assert "test_simple_text" in names


def test_tenant_form_refuses_an_internal_set(admin_client, make_tenant, settings):
    tenant = make_tenant("acme", toolsets=["builtin"])
    settings.MCP_SERVER = {**settings.MCP_SERVER, "ALLOW_INTERNAL_TOOLSETS": False}
    url = reverse("admin:tenants_tenant_change", args=[tenant.pk])
    page = admin_client.get(url)
    assert b'value="conformance"' not in page.content  # not even offered
    response = admin_client.post(
        url, {"name": "Acme", "enabled_toolsets": ["builtin", "conformance"]}
    )
    assert response.status_code == 200
    assert b"conformance" in response.content and b"errorlist" in response.content
    tenant.refresh_from_db()
    assert tenant.enabled_toolsets == ["builtin"]
    assert not AuditLog.objects.filter(action__in=["tenant.update", "tenant.set_tools"]).exists()
    response = admin_client.post(url, {"name": "Acme", "disabled_tools": ["whoamii"]})
    assert response.status_code == 200 and b"errorlist" in response.content
