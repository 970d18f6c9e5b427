""" "Sign out everywhere": a member's access tokens and personal keys are refused at once,
from the cache as well as on full validation, and tokens issued afterwards work."""

import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from tenants import services
from tenants.models import Membership, SubjectSignOut

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def member(tenant: Any, actor: Any) -> Membership:
    user = get_user_model().objects.create_user("alice", email="alice@acme.test")
    return services.membership_add(
        tenant=tenant, user=user, role="member", subject="user-1", actor=actor
    )


def test_tokens_and_keys_are_refused_and_new_tokens_work(
    shared_store: Any, tenant: Any, member: Membership, idp: Any, signing_keys: Any,
    make_provider: Any, call: Any, actor: Any,
) -> None:  # fmt: skip
    make_provider(tenant, idp)
    key = signing_keys["RS256"]
    token = idp.token(key, audience=tenant.resource_identifier, iat=int(time.time()) - 5)
    _, raw = services.personal_key_create(
        membership=member, name="laptop", scopes=[], expires_at=None, actor=actor
    )
    other = idp.token(key, audience=tenant.resource_identifier, sub="someone-else")
    assert call("/mcp/acme", token=token).status == 200  # now cached
    assert call("/mcp/acme", token=raw).status == 200
    revoked = services.member_sign_out_everywhere(membership=member, actor=actor)
    assert len(revoked) == 1
    refused = call("/mcp/acme", token=token)
    assert refused.status == 401
    assert "revoked" in (refused.challenge or "")
    assert call("/mcp/acme", token=raw).status == 401
    # Another subject of the same provider is untouched; a token issued later is accepted.
    assert call("/mcp/acme", token=other).status == 200
    time.sleep(1.1)  # iat has whole seconds
    fresh = idp.token(key, audience=tenant.resource_identifier, jti="after")
    assert call("/mcp/acme", token=fresh).status == 200
    assert SubjectSignOut.objects.filter(tenant=tenant, subject="user-1").count() == 1
