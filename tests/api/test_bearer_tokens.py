"""Access tokens from a tenant's portal provider as API credentials: checked against the
provider's keys, issuer and audience, and mapped to the member they name."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tenants import services
from tenants.models import PortalSignIn, Tenant
from tests.tenants.auth.idp import new_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in_tenant(tenant: Tenant, idp: Any, actor: Any) -> Tenant:
    services.portal_sign_in_set(
        tenant=tenant,
        issuer=idp.issuer,
        client_id="acme-portal",
        client_secret="not-used-here",
        endpoints={
            "authorization_endpoint": f"{idp.issuer}/auth",
            "token_endpoint": f"{idp.issuer}/token",
            "userinfo_endpoint": "",
            "jwks_uri": idp.jwks_uri,
        },
        allow_private_network=True,
        actor=actor,
    )
    user = get_user_model().objects.create_user("ada")
    services.membership_add(tenant=tenant, user=user, role="admin", subject="ada-sub", actor=actor)
    return tenant


def get(token: str, path: str = "/api/v1/tenants/acme/members/") -> Any:
    return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_member_access_token_reaches_their_tenant(
    signed_in_tenant: Tenant,
    idp: Any,
    signing_keys: Any,
    make_tenant: Any,
) -> None:
    key = signing_keys["RS256"]
    token = idp.token(key, audience="acme-portal", sub="ada-sub")
    response = get(token)
    assert response.status_code == 200
    assert [m["username"] for m in response.json()["results"]] == ["ada"]
    make_tenant("globex")
    assert get(token, "/api/v1/tenants/globex/members/").status_code == 404


@pytest.mark.parametrize(
    "change",
    [{"aud": "another-client"}, {"sub": "nobody"}, {"exp": 1}, {"iss": "https://evil.test"}],
)
def test_wrong_tokens_are_401(
    signed_in_tenant: Tenant,
    idp: Any,
    signing_keys: Any,
    change: dict[str, Any],
) -> None:
    claims = {"sub": "ada-sub", **change}
    audience = claims.pop("aud", "acme-portal")
    response = get(idp.token(signing_keys["RS256"], audience=audience, **claims))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_forged_signature_is_401(signed_in_tenant: Tenant, idp: Any, signing_keys: Any) -> None:
    impostor = new_key("RS256", signing_keys["RS256"].kid)
    assert get(idp.token(impostor, audience="acme-portal", sub="ada-sub")).status_code == 401
    assert PortalSignIn.objects.count() == 1
