"""The JWKS jobs in process: refresh records each provider, the check raises stale ones."""

import datetime as dt
import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from mcpserver.conf import mcp_settings
from tenants.auth import keystatus
from tenants.models import IdentityProvider
from tenants.tasks import check_jwks, refresh_jwks

pytestmark = pytest.mark.django_db(transaction=True)


def test_refresh_job_records_every_provider_and_the_check_finds_none_stale(
    make_tenant, make_provider, idp
):
    first = make_provider(make_tenant("one"), idp)
    second = make_provider(make_tenant("two"), idp)

    assert refresh_jwks.delay().get() == 2  # one job per provider (eager: run at once)

    for provider in IdentityProvider.objects.filter(pk__in=[first.pk, second.pk]):
        assert provider.keys_refreshed_at is not None and provider.keys_error == ""
        assert provider.key_ids == ["ec-1", "rsa-1"]
    assert check_jwks.delay().get() == 0


def test_keys_older_than_their_cache_lifetime_raise_a_log_line_and_fail_the_command(
    make_tenant, make_provider, idp, caplog
):
    provider = make_provider(make_tenant("acme"), idp)
    keystatus.check(provider)
    ttl = mcp_settings.JWKS_CACHE_TTL
    old = timezone.now() - dt.timedelta(seconds=ttl + 60)
    IdentityProvider.objects.filter(pk=provider.pk).update(
        keys_refreshed_at=old, keys_error="connection refused"
    )

    with caplog.at_level(logging.WARNING, logger="tenants.alerts"):
        assert check_jwks.delay().get() == 1
    (line,) = [r for r in caplog.records if r.name == "tenants.alerts"]
    assert f"JWKS of provider {provider.pk} (tenant acme" in line.getMessage()
    assert "not refreshed for" in line.getMessage() and "connection refused" in line.getMessage()
    assert line.alert == "jwks_stale"

    err = StringIO()
    with pytest.raises(CommandError, match="1 provider"):
        call_command("check_jwks", stderr=err)
    assert "acme " + idp.issuer in err.getvalue()

    call_command("refresh_jwks", stdout=StringIO())  # the keys come back: fresh again
    out = StringIO()
    call_command("check_jwks", stdout=out)
    assert "fresh" in out.getvalue()


def test_a_provider_never_refreshed_counts_once_its_cache_lifetime_has_passed(
    make_tenant, make_provider, idp
):
    provider = make_provider(make_tenant("acme"), idp)
    assert keystatus.find_stale() == []  # just created: not late yet
    later = timezone.now() + dt.timedelta(seconds=mcp_settings.JWKS_CACHE_TTL + 1)
    (stale,) = keystatus.find_stale(now=later)
    assert (stale.provider_id, stale.age_seconds) == (provider.pk, None)
