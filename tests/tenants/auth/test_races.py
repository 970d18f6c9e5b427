"""Cache writes that race a revocation, and the benchmark's warm run."""

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command

from mcpserver.process import process_state
from tenants.auth import tenantcache, tokencache
from tenants.models import Tenant

pytestmark = pytest.mark.django_db(transaction=True)


def test_principal_written_after_a_revocation_is_dropped(shared_store):
    key = tokencache.cache_key(1, hashlib.sha256(b"credential").hexdigest())
    value = {"s": "u", "m": "jwt", "sc": [], "e": None, "x": None, "c": "i"}
    tokencache._store_then_verify(key, value, 60, ["tenant:1"], lambda: True)
    assert shared_store.get_json(key) == value
    tokencache._store_then_verify(key, value, 60, ["tenant:1"], lambda: False)
    assert shared_store.get_json(key) is None


def test_tenant_snapshot_written_after_a_suspension_is_dropped(shared_store, make_tenant):
    make_tenant("acme")
    snapshot = tenantcache._snapshot("acme")
    assert snapshot is not None
    # Suspended between the read and the write, with the cache clearing already done.
    Tenant.objects.filter(slug="acme").update(status=Tenant.Status.SUSPENDED)
    tenantcache._store_then_verify("acme", snapshot)
    assert shared_store.get_json(tenantcache.cache_key("acme")) is None


def test_benchmark_warm_run_makes_no_jwks_fetch(shared_store):
    out = StringIO()
    call_command("bench_auth", iterations=20, stdout=out)
    report = out.getvalue()
    assert "shared tier: redis" in report
    for path in ("process hit", "shared-tier hit", "full validation RS256", "API key"):
        assert path in report
    assert "JWKS fetches during the warm run: 0 " in report


def test_redis_down_means_full_validation_not_failure(
    tmp_path, make_tenant, make_api_key, make_provider, idp, signing_keys, call
):
    from django.test import override_settings

    from sessions_store.cache_config import shared_caches

    with override_settings(CACHES=shared_caches(f"unix://{tmp_path}/no-redis.sock")):
        process_state.reset()
        try:
            tenant = make_tenant("acme")
            _, raw = make_api_key(tenant)
            make_provider(tenant, idp)
            token = idp.token(signing_keys["RS256"], audience=tenant.resource_identifier)
            for _ in range(2):
                assert call("/mcp/acme", token=raw).status == 200
                assert call("/mcp/acme", token=token).status == 200
            forged = raw[:-1] + ("B" if raw.endswith("A") else "A")
            assert call("/mcp/acme", token=forged).status == 401
        finally:
            process_state.reset()
