"""The authentication contract for API keys."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants import services
from tenants.models import ApiKey, Tenant
from tests.tenants.auth.paths import AuthPathContract, challenge

pytestmark = pytest.mark.django_db(transaction=True)


class ApiKeyPath:
    method = "api_key"
    scopes = ("tools:read",)
    lifetime = 300
    forged_description = "The API key is not valid."
    other_tenant_description = "The API key is not valid."
    expired_description = "The API key has expired."
    revoked_description = "The API key has been revoked."

    def __init__(self, tenant: Tenant, other: Tenant, make_api_key: Any, actor: Any) -> None:
        self.tenant, self.other = tenant, other
        self._make, self._actor = make_api_key, actor
        self.key, self._raw = make_api_key(tenant, scopes=list(self.scopes))
        self.subject = f"apikey:{self.key.public_id}"

    def good(self) -> str:
        return self._raw

    def forged(self) -> str:
        return self._raw[:-4] + ("AAAA" if not self._raw.endswith("AAAA") else "BBBB")

    def expired(self) -> str:
        key, raw = self._make(self.tenant, name="old", expires_at=timezone.now() + timedelta(1))
        ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        return raw

    def revoke(self) -> None:
        services.api_key_revoke(key=self.key, actor=self._actor)


class TestApiKeys(AuthPathContract):
    @pytest.fixture
    def path(self, shared_store, make_tenant, make_api_key, actor):
        return ApiKeyPath(make_tenant("acme"), make_tenant("globex"), make_api_key, actor)

    def test_junk_is_refused_before_any_lookup(self, path, call):
        assert call("/mcp/acme", token=path.good()).status == 200  # tenant config now cached
        with CaptureQueriesContext(connection) as queries:
            response = call("/mcp/acme", token="mcpk_" + "x" * 10)
        # The audit record of the failure (its row and its chain's head) is all that is
        # written, and no key is looked up. (The revocation ledger's reload, at most once a
        # second per process, may fall in here by chance.)
        sql = [q["sql"] for q in queries.captured_queries if '"tenants_revocation"' not in q["sql"]]
        assert not [s for s in sql if '"tenants_apikey"' in s]
        assert [s.split()[:3] for s in sql if s.startswith("INSERT")] == [
            ["INSERT", "INTO", '"tenants_auditlog"']
        ]
        assert response.status == 401
        assert response.challenge == challenge("invalid_token", "The access token is malformed.")

    def test_last_used_written_at_most_once_per_interval(self, path, call):
        raw = path.good()
        for _ in range(3):
            assert call("/mcp/acme", token=raw).status == 200
        path.key.refresh_from_db()
        first = path.key.last_used_at
        assert first is not None
        assert call("/mcp/acme", token=raw).status == 200
        path.key.refresh_from_db()
        assert path.key.last_used_at == first

    def test_scopes_are_the_keys_own(self, path, call):
        assert call("/mcp/acme", token=path.good()).json()["scopes"] == ["tools:read"]


# --- JWTs -------------------------------------------------------------------------------
