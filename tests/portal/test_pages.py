"""The portal in the test client: who sees what, keys shown once, page security."""

import os
import re
import secrets
import subprocess
import sys
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from tenants import services
from tenants.models import ApiKey, AuditLog, Membership, Tenant
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def members(tenant: Tenant, actor: Any) -> dict[str, Membership]:
    users = get_user_model().objects
    return {
        name: services.membership_add(
            tenant=tenant, user=users.create_user(name, email=f"{name}@acme.test"), role=role,
            subject=f"sub-{name}", actor=actor,
        )
        for name, role in [("ada", "admin"), ("max", "member")]
    }  # fmt: skip


def signed_in(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user, backend="tenants.portal.backends.TenantBackend")
    return client


def test_a_stranger_gets_the_sign_in_page_under_a_strict_policy(tenant: Tenant) -> None:
    response = Client().get("/portal/acme/")
    assert response.status_code == 200
    assert "Sign-in is not set up" in response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.content.decode()  # scripts are files
    assert Client().get("/portal/nobody/").status_code == 404


def test_key_is_shown_once_after_a_redirect(members: dict[str, Membership]) -> None:
    client = signed_in(members["max"])
    created = client.post(
        "/portal/acme/keys/new/",
        {"name": "laptop", "scopes": "workspace:read", "expires_in_days": 7},
    )
    assert created.status_code == 302
    page = client.get(created["Location"]).content.decode()
    raw = re.search(r'id="raw-api-key" class="key">(mcpk_[^<]+)<', page)
    assert raw, page
    key = ApiKey.objects.get(owner=members["max"].user)
    assert key.scopes == ["workspace:read"] and key.name == "laptop"
    assert f"Bearer {raw.group(1)}" in page  # the configurations carry the key
    again = client.get(created["Location"]).content.decode()
    assert raw.group(1) not in again and "cannot be shown again" in again
    assert AuditLog.objects.filter(action="api_key.create", actor="portal:acme:max").exists()


def test_member_cannot_open_admin_pages_or_revoke_others_keys(
    members: dict[str, Membership], tenant: Tenant, actor: Any
) -> None:
    shared, _ = services.api_key_create(tenant=tenant, name="shared", actor=actor)
    client = signed_in(members["max"])
    for page in ["members", "keys", "audit"]:
        assert client.get(f"/portal/acme/admin/{page}/").status_code == 403
    assert client.post(f"/portal/acme/keys/{shared.public_id}/revoke/").status_code == 404
    assert ApiKey.objects.get(pk=shared.pk).revoked_at is None
    admin = signed_in(members["ada"])
    assert admin.get("/portal/acme/admin/audit/").status_code == 200
    assert admin.post(f"/portal/acme/keys/{shared.public_id}/revoke/").status_code == 302
    assert ApiKey.objects.get(pk=shared.pk).revoked_at is not None


def test_member_of_one_tenant_sees_only_the_sign_in_page_of_another(
    members: dict[str, Membership], make_tenant: Any
) -> None:
    make_tenant("globex")
    page = signed_in(members["ada"]).get("/portal/globex/admin/keys/")
    assert page.status_code == 200 and "not as a member of Globex" in page.content.decode()


def test_admin_changes_roles_and_removal_signs_the_member_out(
    members: dict[str, Membership], actor: Any
) -> None:
    max_ = members["max"]
    key, _ = services.personal_key_create(
        membership=max_, name="k", scopes=[], expires_at=None, actor=actor
    )
    admin = signed_in(members["ada"])
    admin.post("/portal/acme/admin/members/", {"membership": max_.pk, "role": "admin"})
    assert Membership.objects.get(pk=max_.pk).role == "admin"
    admin.post("/portal/acme/admin/members/", {"membership": max_.pk, "action": "remove"})
    assert not Membership.objects.filter(pk=max_.pk).exists()
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_sign_out_everywhere_from_the_portal(members: dict[str, Membership], actor: Any) -> None:
    services.personal_key_create(
        membership=members["max"], name="k", scopes=[], expires_at=None, actor=actor
    )
    client = signed_in(members["max"])
    response = client.post("/portal/acme/sign-out-everywhere/", follow=True)
    assert "signed out everywhere" in response.content.decode()
    assert not ApiKey.objects.usable().filter(owner=members["max"].user).exists()
    assert "Sign in" in client.get("/portal/acme/").content.decode()


def test_csrf_is_enforced_on_portal_forms(members: dict[str, Membership]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(members["max"].user, backend="tenants.portal.backends.TenantBackend")
    assert (
        client.post("/portal/acme/keys/new/", {"name": "x", "expires_in_days": 1}).status_code
        == 403
    )
    assert not ApiKey.objects.exists()


def test_a_callback_with_an_unknown_state_is_refused_plainly(tenant: Tenant) -> None:
    response = Client().get("/oidc/callback/?code=abc&state=forged")
    assert response.status_code == 400
    assert "expired or was already used" in response.content.decode()


@override_settings(MCP_SERVER={"SIGN_IN_ATTEMPTS_PER_MINUTE": 3})
def test_password_sign_in_to_admin_is_throttled(db: Any) -> None:
    client = Client()
    statuses = [
        client.post("/admin/login/", {"username": "x", "password": "y"}).status_code
        for _ in range(5)
    ]
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]


def test_check_deploy_is_clean_with_production_settings() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mcpserver.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "MCP_ENCRYPTION_KEYS": secrets.token_hex(32),
        "MCP_PUBLIC_URL": "https://mcp.example.com",
        "DJANGO_ALLOWED_HOSTS": "mcp.example.com",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


@pytest.mark.parametrize(
    "path",
    ["/api/v1/tenants/acme/audit-log/?action=a%00b", "/api/v1/tenants/acme/api-keys/ak%00/revoke/",
     "/portal/acme/admin/audit/?action=%00"],
)  # fmt: skip
def test_nul_characters_in_the_address_are_a_plain_400(tenant: Tenant, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_admin_has_pages_for_members_and_portal_sign_in(tenant: Tenant) -> None:
    root = get_user_model().objects.create_superuser("root", "root@example.test", "pw")
    client = Client()
    client.force_login(root, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get("/admin/tenants/portalsignin/add/")
    assert page.status_code == 200
    assert "/oidc/callback/" in page.content.decode()  # the redirect URI to register
    assert client.get("/admin/tenants/membership/").status_code == 200
