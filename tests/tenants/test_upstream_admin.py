"""Secrets, upstream servers and HTTP tools in the admin: through the services, write-only
for secrets, refused with a form error rather than half-saved."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tenants import secrets
from tenants.models import AuditLog, HttpTool, TenantSecret, Upstream

pytestmark = pytest.mark.django_db
VALUE = "admin-typed-secret-5e6f7a8b9c0d"


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests")
    client.force_login(user)
    return client


def test_a_secret_is_set_replaced_and_never_shown(admin_client, tenant):
    add = reverse("admin:tenants_tenantsecret_add")
    response = admin_client.post(add, {"tenant": tenant.pk, "name": "CRM_TOKEN", "value": VALUE})
    assert response.status_code == 302, response.content
    row = TenantSecret.objects.get()
    assert row.set_by == "admin:ops"
    change = reverse("admin:tenants_tenantsecret_change", args=[row.pk])
    page = admin_client.get(change).content.decode()
    listing = admin_client.get(reverse("admin:tenants_tenantsecret_changelist")).content.decode()
    assert VALUE not in page and VALUE not in listing
    assert "…9c0d" in page and 'type="password"' in page
    # Saved with the value left blank: the value stays.
    assert admin_client.post(change, {"value": ""}).status_code == 302
    assert secrets.secret_value(tenant_id=tenant.pk, name="CRM_TOKEN") == VALUE
    assert admin_client.post(change, {"value": "a-replacement-value-123"}).status_code == 302
    assert secrets.secret_value(tenant_id=tenant.pk, name="CRM_TOKEN") == "a-replacement-value-123"
    assert AuditLog.objects.filter(action="tenant_secret.set").count() == 2


def test_a_secret_value_with_a_line_break_is_a_form_error(admin_client, tenant):
    add = reverse("admin:tenants_tenantsecret_add")
    response = admin_client.post(add, {"tenant": tenant.pk, "name": "X", "value": "a\nb"})
    assert response.status_code == 200
    assert b"control character" in response.content
    assert not TenantSecret.objects.exists()


def _upstream_form(tenant, **overrides):
    form = {
        "tenant": tenant.pk,
        "name": "crm",
        "url": "https://crm.example.com/mcp",
        "headers": json.dumps({"Authorization": "Bearer {secret:CRM_TOKEN}"}),
        "timeout": "10",
        "scopes": "crm:read",
        "enabled": "on",
    }
    return {**form, **overrides}


def test_an_upstream_is_attached_and_a_literal_token_is_refused(admin_client, tenant):
    add = reverse("admin:tenants_upstream_add")
    literal = json.dumps({"Authorization": "Bearer abc"})
    refused = admin_client.post(add, _upstream_form(tenant, headers=literal))
    assert refused.status_code == 200
    assert b"reference a tenant secret" in refused.content
    assert not Upstream.objects.exists()
    assert admin_client.post(add, _upstream_form(tenant)).status_code == 302
    upstream = Upstream.objects.get()
    assert upstream.scopes == ["crm:read"] and upstream.created_by == "admin:ops"
    audit = AuditLog.objects.get(action="upstream.create")
    assert audit.details["header_names"] == ["Authorization"]
    assert "{secret:" not in json.dumps(audit.details)
    change = reverse("admin:tenants_upstream_change", args=[upstream.pk])
    response = admin_client.post(change, {**_upstream_form(tenant), "timeout": "3"})
    assert response.status_code == 302
    upstream.refresh_from_db()
    assert upstream.timeout == 3


def test_an_http_tool_from_its_spec_and_the_tenant_page_lists_them(admin_client, tenant):
    spec = {"name": "lookup", "description": "Look it up.", "url": "https://a.example/x"}
    add = reverse("admin:tenants_httptool_add")
    response = admin_client.post(
        add, {"tenant": tenant.pk, "spec": json.dumps(spec), "enabled": "on"}
    )
    assert response.status_code == 302, response.content
    tool = HttpTool.objects.get()
    assert tool.name == "lookup" and tool.spec["method"] == "GET"
    bad = dict(spec, name="other", url="https://{host}/x")
    response = admin_client.post(
        add, {"tenant": tenant.pk, "spec": json.dumps(bad), "enabled": "on"}
    )
    assert response.status_code == 200 and b"never the scheme or host" in response.content
    page = admin_client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk]))
    assert b"lookup (HTTP tool)" in page.content and b"no calls" in page.content
