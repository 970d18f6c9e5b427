"""Clients named by a client ID metadata document: fetched through the guarded outbound
client, linked to each tenant they are used at, and what a person grants one at a tenant
stays there."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from oauth2_provider.models import RefreshToken

from tenants.models import BrokerClient, Tenant
from tests.oauth.flow import (
    REDIRECT,
    authorize_params,
    broker_tenant,
    exchange,
    get_code,
    pkce,
    refresh,
    register,
    verify,
)

pytestmark = pytest.mark.usefixtures("public_url")


def _serve_document(monkeypatch: pytest.MonkeyPatch, client_id: str) -> list[str]:
    """The client's metadata document, as the outbound client would fetch it; the list of
    addresses fetched fills as the server fetches."""
    from tenants import outbound

    document = {
        "client_id": client_id,
        "client_name": "Test app",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
    }
    fetched: list[str] = []

    def fake(method, url, *, policy, headers=None, content=None):
        fetched.append(url)
        return outbound.OutboundResponse(
            url=url, status=200, body=json.dumps(document).encode(),
            headers={"content-type": "application/json"},
        )  # fmt: skip

    monkeypatch.setattr(outbound, "request", fake)
    return fetched


@pytest.mark.django_db
class TestClientIdMetadataDocument:
    URL = "https://app.example.org/oauth/client.json"

    def test_a_document_client_gets_a_code(self, broker, member, monkeypatch):
        fetched = _serve_document(monkeypatch, self.URL)
        verifier, challenge = pkce()
        code = get_code(member, broker, self.URL, challenge)
        assert exchange(broker, self.URL, code, verifier).status_code == 200
        assert fetched == [self.URL]

    def test_a_document_at_a_private_address_is_refused(self, broker, member):
        _, challenge = pkce()
        url = "https://127.0.0.1/client.json"
        response = member.get(
            f"/oauth/{broker.slug}/authorize", authorize_params(broker, url, challenge)
        )
        assert response.status_code in (400, 401) and "Location" not in response

    @pytest.mark.parametrize("resource", ["named", "left out"])
    def test_a_document_clients_grants_stay_at_the_tenant_that_issued_them(
        self, broker, member, monkeypatch, resource
    ):
        # A metadata-document client is linked to every tenant it is used at, so the client
        # is known at both; what a person granted at one tenant must not work at the other,
        # whether or not the client named the resource when it asked.
        _serve_document(monkeypatch, self.URL)
        other = broker_tenant(Tenant.objects.create(slug="other", name="Other"))
        unnamed = {"resource": ""} if resource == "left out" else {}
        # the client is used at the other tenant too (by someone else), which links it there
        _, other_challenge = pkce()
        Client().get(
            f"/oauth/{other.slug}/authorize", authorize_params(other, self.URL, other_challenge)
        )
        verifier, challenge = pkce()
        code = get_code(member, broker, self.URL, challenge, **unnamed)
        assert BrokerClient.objects.filter(application__client_id=self.URL).count() == 2
        # alice's code, taken to the other tenant's token endpoint: unknown there
        stolen = exchange(other, self.URL, code, verifier, resource="")
        assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
        body = exchange(broker, self.URL, code, verifier, **unnamed)
        assert body.status_code == 200, body.content
        tokens = body.json()
        assert verify(broker, tokens["access_token"])["sub"] == "alice-sub"
        elsewhere = refresh(other, self.URL, tokens["refresh_token"])
        assert elsewhere.status_code == 400 and elsewhere.json()["error"] == "invalid_grant"
        revoked = Client().post(
            f"/oauth/{other.slug}/revoke", {"token": tokens["refresh_token"], "client_id": self.URL}
        )
        assert revoked.status_code == 200  # RFC 7009: an unknown token is not an error...
        home = refresh(broker, self.URL, tokens["refresh_token"])  # ...and nothing was revoked
        assert home.status_code == 200, home.content

    def test_a_grant_made_before_grants_named_their_tenant_is_taken_where_it_can_only_be_from(
        self, broker, member
    ):
        client_id = register(broker.slug)  # registered here: known at no other tenant
        verifier, challenge = pkce()
        tokens = exchange(
            broker, client_id, get_code(member, broker, client_id, challenge), verifier
        ).json()
        RefreshToken.objects.update(resource=[])  # as rows written by an earlier release
        assert refresh(broker, client_id, tokens["refresh_token"]).status_code == 200
