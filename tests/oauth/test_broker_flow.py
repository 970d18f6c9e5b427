"""The broker's authorization flow through the Django test client: DCR, sign-in (a member's
session), consent, PKCE S256, code for tokens, refresh rotation and reuse, revocation, and the
refusals of bad input."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client
from oauth2_provider.models import Grant, RefreshToken

from tenants.models import Tenant
from tests.oauth.flow import (
    BASE,
    REDIRECT,
    authorize_params,
    broker_tenant,
    consent_form,
    exchange,
    get_code,
    pkce,
    refresh,
    register,
    verify,
)

pytestmark = pytest.mark.usefixtures("public_url")


@pytest.mark.django_db
class TestFlow:
    def test_code_pkce_tokens_refresh_rotation_and_reuse(self, broker, member):
        client_id = register(broker.slug)
        verifier, challenge = pkce()
        code = get_code(member, broker, client_id, challenge)
        tokens = exchange(broker, client_id, code, verifier)
        assert tokens.status_code == 200, tokens.content
        body = tokens.json()
        claims = verify(broker, body["access_token"])
        assert claims["sub"] == "alice-sub" and claims["client_id"] == client_id
        assert body["expires_in"] <= 300 and body["token_type"] == "Bearer"
        # the access token names its grant: the family of the refresh token issued with it
        (family,) = RefreshToken.objects.values_list("token_family", flat=True)
        assert claims["grant"] == str(family)
        # rotation: the new refresh token works, the old one is spent
        second = refresh(broker, client_id, body["refresh_token"])
        assert second.status_code == 200, second.content
        assert verify(broker, second.json()["access_token"])["grant"] == str(family)
        # reuse of the old one revokes the whole family, the newest token too
        reused = refresh(broker, client_id, body["refresh_token"])
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
        after = refresh(broker, client_id, second.json()["refresh_token"])
        assert after.status_code == 400 and after.json()["error"] == "invalid_grant"

    def test_revocation(self, broker, member):
        client_id = register(broker.slug)
        verifier, challenge = pkce()
        body = exchange(
            broker, client_id, get_code(member, broker, client_id, challenge), verifier
        ).json()
        revoked = Client().post(
            f"/oauth/{broker.slug}/revoke", {"token": body["refresh_token"], "client_id": client_id}
        )
        assert revoked.status_code == 200
        assert refresh(broker, client_id, body["refresh_token"]).status_code == 400

    def test_a_stranger_is_sent_to_the_tenant_sign_in(self, broker):
        client_id = register(broker.slug)
        _, challenge = pkce()
        response = Client().get(
            f"/oauth/{broker.slug}/authorize", authorize_params(broker, client_id, challenge)
        )
        assert response.status_code == 302
        assert response["Location"].startswith(f"/portal/{broker.slug}/sign-in/?next=")


@pytest.mark.django_db
class TestBadInput:
    def test_wrong_redirect_uri_is_not_redirected_to(self, broker, member):
        client_id = register(broker.slug)
        _, challenge = pkce()
        response = member.get(
            f"/oauth/{broker.slug}/authorize",
            authorize_params(broker, client_id, challenge, redirect_uri="https://evil.example/cb"),
        )
        assert response.status_code == 400
        assert "evil" not in response.get("Location", "")

    @pytest.mark.parametrize("method", ["plain", ""])
    def test_plain_or_missing_pkce(self, broker, member, method):
        client_id = register(broker.slug)
        _, challenge = pkce()
        params = authorize_params(broker, client_id, challenge, code_challenge_method=method)
        response = member.get(f"/oauth/{broker.slug}/authorize", params)
        assert response.status_code == 302
        query = parse_qs(urlsplit(response["Location"]).query)
        assert query["error"] == ["invalid_request"] and "code" not in query
        assert query["iss"] == [f"{BASE}/oauth/{broker.slug}"]
        params.pop("code_challenge")
        response = member.get(f"/oauth/{broker.slug}/authorize", params)
        assert parse_qs(urlsplit(response["Location"]).query)["error"] == ["invalid_request"]

    def test_an_expired_consent_issues_nothing(self, broker, member, monkeypatch):
        client_id = register(broker.slug)
        _, challenge = pkce()
        address, form = consent_form(member, broker, client_id, challenge)
        later = time.time() + 601  # BROKER_CONSENT_MAX_AGE is 600
        monkeypatch.setattr(signing.time, "time", lambda: later)
        answer = member.post(address, {**form, "allow": "Authorize"})
        assert answer.status_code == 302
        query = parse_qs(urlsplit(answer["Location"]).query)
        assert answer["Location"].startswith(REDIRECT)
        assert query["error"] == ["access_denied"] and "code" not in query
        assert query["state"] == ["st4te"] and query["iss"] == [f"{BASE}/oauth/{broker.slug}"]
        assert not Grant.objects.exists()

    @pytest.mark.parametrize(
        "change",
        [
            {"redirect_uri": "https://evil.example/cb"},
            {"code_challenge": "A" * 43},
            {"consent_ticket": ""},
            {"consent_ticket": "forged:1abc:xyz"},
        ],
    )
    def test_an_altered_consent_form_issues_nothing(self, broker, member, change):
        client_id = register(broker.slug)
        _, challenge = pkce()
        address, form = consent_form(member, broker, client_id, challenge)
        answer = member.post(address, {**form, **change, "allow": "Authorize"})
        assert answer.status_code == 400 and "Location" not in answer
        assert "invalid_request" in answer.content.decode()
        assert not Grant.objects.exists()

    def test_code_used_twice(self, broker, member):
        client_id = register(broker.slug)
        verifier, challenge = pkce()
        code = get_code(member, broker, client_id, challenge)
        assert exchange(broker, client_id, code, verifier).status_code == 200
        again = exchange(broker, client_id, code, verifier)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    def test_code_from_another_client(self, broker, member):
        client_id = register(broker.slug)
        other = register(broker.slug)
        verifier, challenge = pkce()
        code = get_code(member, broker, client_id, challenge)
        stolen = exchange(broker, other, code, verifier)
        assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"

    def test_wrong_verifier(self, broker, member):
        client_id = register(broker.slug)
        _, challenge = pkce()
        code = get_code(member, broker, client_id, challenge)
        wrong = exchange(broker, client_id, code, "x" * 50)
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"

    def test_another_tenants_resource(self, broker, member):
        other = broker_tenant(Tenant.objects.create(slug="other", name="Other"))
        client_id = register(broker.slug)
        verifier, challenge = pkce()
        response = member.get(
            f"/oauth/{broker.slug}/authorize",
            authorize_params(broker, client_id, challenge, resource=other.resource_identifier),
        )
        query = parse_qs(urlsplit(response["Location"]).query)
        assert query["error"] == ["invalid_target"] and "code" not in query
        code = get_code(member, broker, client_id, challenge)
        token = exchange(broker, client_id, code, verifier, resource=other.resource_identifier)
        assert token.status_code == 400 and token.json()["error"] == "invalid_target"

    def test_a_client_of_one_tenant_is_unknown_at_another(self, broker, member):
        other = broker_tenant(Tenant.objects.create(slug="other", name="Other"))
        client_id = register(broker.slug)
        _, challenge = pkce()
        response = member.get(
            f"/oauth/{other.slug}/authorize", authorize_params(other, client_id, challenge)
        )
        assert response.status_code in (400, 401) and "Location" not in response


@pytest.mark.parametrize(
    ("content", "status", "answer"),
    [
        (b'{"error": "invalid_target", "error_description": "no"}', 400, "invalid_target"),
        (b"<html><body>Server Error</body></html>", 500, "server_error"),
        (b'["not", "an", "error"]', 400, "server_error"),
    ],
)
def test_a_refusal_the_library_sends_as_html_is_answered_as_json(
    content: bytes, status: int, answer: str
) -> None:
    from django.http import HttpResponse

    from tenants.oauth.views import _json_refusal

    sent = _json_refusal(HttpResponse(content, status=status))
    assert sent["Content-Type"] == "application/json" and sent["Cache-Control"] == "no-store"
    assert json.loads(sent.content)["error"] == answer
    assert sent.status_code == (status if answer != "server_error" else 500)
