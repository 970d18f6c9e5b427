"""Who may do what in the REST API: staff, a tenant's admin, a member, a stranger."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tenants import services
from tenants.audit import Actor
from tenants.models import ApiKey, AuditLog, Membership, Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_tenant: Callable[..., Tenant], actor: Actor) -> dict[str, Any]:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    users = get_user_model().objects
    staff = users.create_user("staff", is_staff=True, is_superuser=True)
    admin, member = users.create_user("ada", email="ada@acme.test"), users.create_user("max")
    services.membership_add(tenant=acme, user=admin, role="admin", actor=actor)
    services.membership_add(tenant=acme, user=member, role="member", actor=actor)
    services.api_key_create(tenant=globex, name="globex-ci", actor=actor)
    return {"acme": acme, "globex": globex, "staff": staff, "admin": admin, "member": member}


def client_for(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def csrf_of(client: Client, page: str = "/portal/acme/") -> str:
    """The CSRF token a browser would hold after opening a page with a form."""
    client.get(page)
    return str(client.cookies["csrftoken"].value)


def test_unauthenticated_caller_gets_401_with_a_clear_body(people: dict[str, Any]) -> None:
    response = Client().get("/api/v1/tenants/acme/api-keys/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["code"] == "not_authenticated"
    assert "Authorization: Bearer" in error["message"]


def test_a_bad_bearer_credential_is_401_in_the_same_shape(people: dict[str, Any]) -> None:
    for header in ["Bearer mcpk_" + "x" * 43, "Bearer not.a.jwt", "Basic abc"]:
        response = Client().get("/api/v1/tenants/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert set(response.json()["error"]) >= {"code", "message"}


def test_member_cannot_reach_admin_endpoints(people: dict[str, Any]) -> None:
    client = client_for(people["member"])
    for path in ["api-keys/", "members/", "audit-log/", "tools/"]:
        response = client.get(f"/api/v1/tenants/acme/{path}")
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "permission_denied"
    assert client.get("/api/v1/tenants/acme/me/keys/").status_code == 200


def test_tenant_admin_cannot_see_another_tenant(people: dict[str, Any]) -> None:
    client = client_for(people["admin"])
    assert client.get("/api/v1/tenants/acme/api-keys/").status_code == 200
    for path in ["", "api-keys/", "members/", "audit-log/", "me/keys/"]:
        response = client.get(f"/api/v1/tenants/globex/{path}")
        assert response.status_code == 404, path
        assert response.json() == {"error": {"code": "not_found", "message": "No such tenant."}}
    listed = client.get("/api/v1/tenants/").json()["results"]
    assert [t["slug"] for t in listed] == ["acme"]


def test_tenant_admin_is_not_staff(people: dict[str, Any]) -> None:
    client = client_for(people["admin"])
    response = client.post(
        "/api/v1/tenants/", {"slug": "evil", "name": "Evil"}, content_type="application/json"
    )
    # Session authentication checks CSRF first; with a token the refusal is the role's.
    assert response.status_code == 403
    assert not Tenant.objects.filter(slug="evil").exists()


def test_api_key_with_admin_scope_manages_its_tenant_only(
    people: dict[str, Any], make_api_key: Callable[..., tuple[ApiKey, str]]
) -> None:
    _, raw = make_api_key(people["acme"], name="automation", scopes=["admin"])
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    created = Client().post(
        "/api/v1/tenants/acme/api-keys/",
        {"name": "deploy", "scopes": ["workspace:read"], "expires_in_days": 30},
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith("mcpk_") and body["scopes"] == ["workspace:read"]
    assert created["Cache-Control"] == "no-store"
    # The same audit record as a key made in admin, naming the API caller.
    row = AuditLog.objects.filter(action="api_key.create", target=body["public_id"]).get()
    assert row.actor.startswith("api:apikey:")
    assert Client().get("/api/v1/tenants/globex/api-keys/", **auth).status_code == 404
    _, plain = make_api_key(people["acme"], name="no-admin")
    refused = Client().get("/api/v1/tenants/acme/api-keys/", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert refused.status_code == 403
    assert "admin" in refused.json()["error"]["message"]


def test_member_revokes_own_key_but_not_others(people: dict[str, Any], actor: Actor) -> None:
    acme = people["acme"]
    mine = Membership.objects.get(user=people["member"], tenant=acme)
    key, _ = services.personal_key_create(
        membership=mine, name="laptop", scopes=[], expires_at=None, actor=actor
    )
    other, _ = services.api_key_create(tenant=acme, name="shared", actor=actor)
    client = client_for(people["member"])
    token = csrf_of(client)
    ok = client.post(
        f"/api/v1/tenants/acme/api-keys/{key.public_id}/revoke/",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert ok.status_code == 200 and ok.json()["state"] == "revoked"
    no = client.post(
        f"/api/v1/tenants/acme/api-keys/{other.public_id}/revoke/",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert no.status_code == 404
    assert ApiKey.objects.get(pk=other.pk).revoked_at is None


def test_staff_create_tenant_and_bad_input_is_400_with_fields(people: dict[str, Any]) -> None:
    client = client_for(people["staff"])
    token = csrf_of(client, "/admin/")
    bad = client.post(
        "/api/v1/tenants/", {"slug": "Not A Slug!", "name": "x"},
        content_type="application/json", HTTP_X_CSRFTOKEN=token,
    )  # fmt: skip
    assert bad.status_code == 400
    assert "slug" in bad.json()["error"]["fields"]
    good = client.post(
        "/api/v1/tenants/", {"slug": "initech", "name": "Initech"},
        content_type="application/json", HTTP_X_CSRFTOKEN=token,
    )  # fmt: skip
    assert good.status_code == 201 and good.json()["slug"] == "initech"
    assert AuditLog.objects.filter(action="tenant.create", target="initech").exists()


def test_session_without_csrf_token_cannot_change_anything(people: dict[str, Any]) -> None:
    client = client_for(people["staff"])
    response = client.post(
        "/api/v1/tenants/", {"slug": "nocsrf", "name": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
    assert not Tenant.objects.filter(slug="nocsrf").exists()


def test_audit_log_is_filtered_and_paginated(people: dict[str, Any]) -> None:
    client = client_for(people["admin"])
    page = client.get("/api/v1/tenants/acme/audit-log/?action=membership.add&page_size=1").json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]
    assert {r["action"] for r in page["results"]} == {"membership.add"}
    assert client.get("/api/v1/tenants/acme/audit-log/?since=yesterday").status_code == 400
    # An offset Python takes but PostgreSQL would not is read as the same instant in UTC.
    assert (
        client.get("/api/v1/tenants/acme/audit-log/?since=2020-01-01T00:00%2B19:35").status_code
        == 200
    )
