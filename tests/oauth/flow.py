"""The broker's authorization flow as a client and a member's browser drive it, through the
Django test client: registration, PKCE, consent, code for tokens, refresh, verification."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from django.test import Client

from mcpserver.conf import mcp_settings
from tenants.models import Tenant
from tests.oauth.tenants import broker_mode

BASE = "https://mcp.example.com"
REDIRECT = "http://127.0.0.1:33333/callback"


def broker_tenant(tenant: Tenant) -> Tenant:
    return broker_mode(tenant)


def register(slug: str, redirect: str = REDIRECT) -> str:
    response = Client().post(
        f"/oauth/{slug}/register",
        data={
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "client_name": "Test app",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return str(response.json()["client_id"])


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_params(tenant: Tenant, client_id: str, challenge: str, **extra: str) -> dict:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "st4te",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": tenant.resource_identifier,
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v != ""}


def consent_form(
    browser: Client, tenant: Tenant, client_id: str, challenge: str, **extra: str
) -> tuple:
    """The consent page's address and the form a browser would send back from it."""
    url = f"/oauth/{tenant.slug}/authorize"
    page = browser.get(url, authorize_params(tenant, client_id, challenge, **extra))
    assert page.status_code == 200, page.content
    text = page.content.decode()
    assert "Test app" in text and REDIRECT in text  # the consent page names both
    form = {field.name: field.value() or "" for field in page.context["form"] if field.is_hidden}
    form["consent_ticket"] = page.context["consent_ticket"]
    return page.request["PATH_INFO"] + "?" + page.request["QUERY_STRING"], form


def get_code(browser: Client, tenant: Tenant, client_id: str, challenge: str, **extra: str) -> str:
    address, form = consent_form(browser, tenant, client_id, challenge, **extra)
    answer = browser.post(address, {**form, "allow": "Authorize"})
    assert answer.status_code == 302, answer.content
    query = parse_qs(urlsplit(answer["Location"]).query)
    assert query["iss"] == [f"{mcp_settings.PUBLIC_URL}/oauth/{tenant.slug}"]  # RFC 9207
    assert query["state"] == ["st4te"]
    return query["code"][0]


def exchange(tenant: Tenant, client_id: str, code: str, verifier: str, **extra: str) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": client_id,
        "code_verifier": verifier,
        "resource": tenant.resource_identifier,
    }
    data.update(extra)
    return Client().post(f"/oauth/{tenant.slug}/token", {k: v for k, v in data.items() if v})


def refresh(tenant: Tenant, client_id: str, token: str) -> Any:
    return Client().post(
        f"/oauth/{tenant.slug}/token",
        {"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id},
    )


def verify(tenant: Tenant, access: str) -> dict:
    published = Client().get(f"/oauth/{tenant.slug}/jwks").json()["keys"]
    kid = jwt.get_unverified_header(access)["kid"]
    (jwk,) = [key for key in published if key["kid"] == kid]
    return jwt.decode(
        access,
        jwt.PyJWK(jwk).key,
        algorithms=["ES256"],
        audience=tenant.resource_identifier,
        issuer=f"{mcp_settings.PUBLIC_URL}/oauth/{tenant.slug}",
    )
