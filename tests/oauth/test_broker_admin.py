"""Revoking the broker's clients and grants: from admin (audited), and by a member who signs
out everywhere in the portal. What was revoked no longer refreshes; a revoked client is
unknown at the tenant from then on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tenants.models import AuditLog, BrokerClient, BrokerGrant, Membership, Tenant
from tests.oauth.flow import (
    REDIRECT,
    authorize_params,
    broker_tenant,
    exchange,
    get_code,
    pkce,
    refresh,
    register,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(tenant: Tenant) -> Tenant:
    return broker_tenant(tenant)


@pytest.fixture
def member(broker: Tenant) -> tuple[Membership, Client]:
    user = get_user_model().objects.create(username="alice", email="alice@example.com")
    membership = Membership.objects.create(user=user, tenant=broker, subject="alice-sub")
    browser = Client()
    browser.force_login(user, backend="tenants.portal.backends.TenantBackend")
    return membership, browser


@pytest.fixture
def operator() -> Client:
    staff = get_user_model().objects.create_superuser("operator", "", "pw")
    client = Client()
    client.force_login(staff)
    return client


def granted(broker: Tenant, browser: Client, client_id: str) -> dict[str, Any]:
    verifier, challenge = pkce()
    answer = exchange(broker, client_id, get_code(browser, broker, client_id, challenge), verifier)
    assert answer.status_code == 200, answer.content
    return dict(answer.json())


def action(operator: Client, model: str, name: str, pks: list[int]) -> str:
    response = operator.post(
        f"/admin/tenants/{model}/",
        {"action": name, "_selected_action": [str(pk) for pk in pks]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_admin_lists_and_revokes_a_grant(broker, member, operator):
    _, browser = member
    client_id = register(broker.slug)
    tokens = granted(broker, browser, client_id)
    page = operator.get("/admin/tenants/brokergrant/").content.decode()
    assert "alice" in page and "Test app" in page and broker.slug in page
    (grant,) = BrokerGrant.objects.filter(revoked__isnull=True)
    assert "1 grant(s) revoked" in action(operator, "brokergrant", "revoke_grants", [grant.pk])
    refused = refresh(broker, client_id, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert "alice" not in operator.get("/admin/tenants/brokergrant/").content.decode()
    record = AuditLog.objects.get(action="oauth.grant_revoke")
    assert record.tenant == broker and record.target == client_id


def test_admin_revokes_a_client_and_its_grants(broker, member, operator):
    _, browser = member
    client_id = register(broker.slug)
    tokens = granted(broker, browser, client_id)
    page = operator.get("/admin/tenants/brokerclient/").content.decode()
    assert "Test app" in page and client_id in page and "dynamic registration" in page
    link = BrokerClient.objects.get(application__client_id=client_id)
    text = action(operator, "brokerclient", "revoke_clients", [link.pk])
    assert "1 client(s) revoked, 1 grant(s)" in text
    refused = refresh(broker, client_id, tokens["refresh_token"])
    assert refused.status_code in (400, 401) and "access_token" not in refused.json()
    _, challenge = pkce()
    again = browser.get(
        f"/oauth/{broker.slug}/authorize", authorize_params(broker, client_id, challenge)
    )
    assert again.status_code in (400, 401) and "Location" not in again  # unknown here now
    record = AuditLog.objects.get(action="oauth.client_revoke")
    assert record.details["grants_revoked"] == 1


def test_sign_out_everywhere_revokes_the_members_grants(broker, member):
    _, browser = member
    client_id = register(broker.slug)
    tokens = granted(broker, browser, client_id)
    response = browser.post(f"/portal/{broker.slug}/sign-out-everywhere/", follow=True)
    assert "signed out everywhere" in response.content.decode()
    refused = refresh(broker, client_id, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    record = AuditLog.objects.get(action="portal.sign_out_everywhere")
    assert record.details["revoked_grants"] == 1


def test_a_members_grants_at_another_tenant_are_left_alone(broker, member, make_tenant):
    membership, browser = member
    other = broker_tenant(make_tenant("other"))
    Membership.objects.create(user=membership.user, tenant=other, subject="alice-sub")
    here, there = register(broker.slug), register(other.slug)
    granted(broker, browser, here)
    kept = granted(other, browser, there)
    browser.post(f"/portal/{broker.slug}/sign-out-everywhere/")
    assert refresh(other, there, kept["refresh_token"]).status_code == 200


def test_a_revoked_metadata_document_client_is_not_linked_again(
    broker, member, operator, monkeypatch
):
    from tenants import outbound

    url = "https://app.example.org/oauth/client.json"
    document = {
        "client_id": url, "client_name": "Test app", "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
    }  # fmt: skip

    def served(method, address, *, policy, headers=None, content=None):
        body = json.dumps(document).encode()
        headers = {"content-type": "application/json"}
        return outbound.OutboundResponse(url=address, status=200, body=body, headers=headers)

    monkeypatch.setattr(outbound, "request", served)
    _, browser = member
    granted(broker, browser, url)
    link = BrokerClient.objects.get(application__client_id=url)
    assert "metadata document" in operator.get("/admin/tenants/brokerclient/").content.decode()
    action(operator, "brokerclient", "revoke_clients", [link.pk])
    _, challenge = pkce()
    again = browser.get(f"/oauth/{broker.slug}/authorize", authorize_params(broker, url, challenge))
    assert again.status_code in (400, 401) and "Location" not in again
    assert BrokerClient.objects.get(pk=link.pk).revoked_at is not None


def test_admin_switches_a_tenant_between_modes(tenant, operator):
    from tenants.models import PortalSignIn

    sign_in = PortalSignIn.objects.create(
        tenant=tenant, issuer="https://idp.example.com", client_id="portal",
        authorization_endpoint="https://idp.example.com/auth",
        token_endpoint="https://idp.example.com/token", jwks_uri="https://idp.example.com/jwks",
    )  # fmt: skip
    metadata = f"/.well-known/oauth-authorization-server/oauth/{tenant.slug}"
    assert Client().get(metadata).status_code == 404
    assert "now in broker mode" in action(operator, "portalsignin", "use_broker_mode", [sign_in.pk])
    assert Client().get(metadata).json()["issuer"].endswith(f"/oauth/{tenant.slug}")
    action(operator, "portalsignin", "use_direct_mode", [sign_in.pk])
    assert Client().get(metadata).status_code == 404
    assert AuditLog.objects.filter(action="sign_in.set_mode").count() == 2
