"""Setting a tenant's rate limits (service, command, admin form) and what a client is told
when over them, through the real ASGI application in both protocol eras."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from tenants import services
from tenants.auth import tenantcache
from tenants.models import AuditLog, Tenant
from tests.databases import seed_sqlite
from tests.mcpserver.conftest import Endpoint

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def limits(slug: str = "acme") -> tuple[str, str]:
    tenant = Tenant.objects.get(slug=slug)
    return tenant.rate_limit_tenant, tenant.rate_limit_credential


# --- the service ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the cache's lookups share this connection
def test_the_service_sets_audits_and_clears_the_cached_configuration(
    tenant: Tenant, actor: Any
) -> None:
    cached = async_to_sync(tenantcache.resolve)("acme")
    assert cached is not None and cached.tenant.rate_limit_credential == ""
    services.tenant_set_rate_limits(
        tenant=tenant, tenant_limit="100/min", credential_limit="off", actor=actor
    )
    assert limits() == ("100/min", "off")
    record = AuditLog.objects.get(action="tenant.rate_limit")
    assert record.details == {
        "rate_limit_tenant": {"from": "", "to": "100/min"},
        "rate_limit_credential": {"from": "", "to": "off"},
    }
    fresh = async_to_sync(tenantcache.resolve)("acme")
    assert fresh is not None
    assert (fresh.tenant.rate_limit_tenant, fresh.tenant.rate_limit_credential) == (
        "100/min",
        "off",
    )


def test_the_service_refuses_a_bad_rate_and_changes_nothing(tenant: Tenant, actor: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        services.tenant_set_rate_limits(
            tenant=tenant, tenant_limit="5/min", credential_limit="lots", actor=actor
        )
    assert "rate_limit_credential" in caught.value.message_dict
    assert limits() == ("", "")
    assert not AuditLog.objects.filter(action="tenant.rate_limit").exists()


def test_setting_the_same_value_again_records_nothing(tenant: Tenant, actor: Any) -> None:
    services.tenant_set_rate_limits(tenant=tenant, tenant_limit="5/h", actor=actor)
    services.tenant_set_rate_limits(tenant=tenant, tenant_limit="5/h", actor=actor)
    assert AuditLog.objects.filter(action="tenant.rate_limit").count() == 1


# --- the command ------------------------------------------------------------------------------


def test_the_command_sets_removes_and_shows_the_limits(tenant: Tenant) -> None:
    out = run("set_rate_limit", "acme", "--tenant", "1000/min", "--credential", "10/s")
    assert limits() == ("1000/min", "10/s")
    assert out.strip() == "acme: tenant 1000/min, per credential 10/s"
    assert run("set_rate_limit", "acme", "--tenant", "off").strip().startswith("acme: tenant off,")
    assert limits() == ("off", "10/s")
    out = run("set_rate_limit", "acme", "--credential", "default")
    assert limits() == ("off", "")
    assert out.strip() == "acme: tenant off, per credential 3000/min (default)"
    assert AuditLog.objects.filter(action="tenant.rate_limit").count() == 3
    assert AuditLog.objects.filter(actor="cli:set_rate_limit").count() == 3


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("nobody", "--tenant", "5/s"), "No tenant 'nobody'"),
        (("acme", "--tenant", "5/week"), "--tenant: '5/week' is not a rate"),
        (("acme", "--credential", "0/s"), "--credential: The request count must be between"),
        (("acme", "--tenant", "5/s", "--credential", "x"), "--credential: 'x' is not a rate"),
        (("acme", "--tenant", ""), "--tenant: give N/PERIOD"),
    ],
)
def test_the_command_refuses_bad_input_and_changes_nothing(
    tenant: Tenant, args: tuple[str, ...], said: str
) -> None:
    with pytest.raises(CommandError, match=said.replace("(", r"\(")):
        run("set_rate_limit", *args)
    assert limits() == ("", "")
    assert not AuditLog.objects.filter(action="tenant.rate_limit").exists()


@pytest.mark.own_database  # real processes on a SQLite file of their own
def test_the_command_as_a_process_says_one_line_and_exits_1(tmp_path: Any) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    seed_sqlite(env["DATABASE_URL"])
    assert manage("create_tenant", "acme", "--name", "Acme").returncode == 0
    # One refusal of the command's own and one of its argument parser: every message is
    # checked in process above; here, that a real process says one line and exits 1.
    bad_input = (
        ("nobody", "--tenant", "5/s"),
        ("acme", "--tenant"),
    )
    for args in bad_input:
        done = manage("set_rate_limit", *args)
        assert done.returncode == 1, done
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr
    done = manage("set_rate_limit", "acme", "--tenant", "50/s")
    assert done.returncode == 0 and "tenant 50/s" in done.stdout


# --- the admin form ---------------------------------------------------------------------------


@pytest.fixture
def admin_client(client: Any) -> Any:
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests")
    client.force_login(user)
    return client


def _change(admin_client: Any, tenant: Tenant, **limits: str) -> Any:
    return admin_client.post(
        reverse("admin:tenants_tenant_change", args=[tenant.pk]),
        {"slug": tenant.slug, "name": tenant.name, "enabled_toolsets": ["builtin"], **limits},
    )


def test_the_admin_form_shows_and_validates_the_limits(admin_client: Any, tenant: Tenant) -> None:
    page = admin_client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk]))
    assert b"rate limit per credential" in page.content.lower()
    assert b"default: 3000/min" in page.content

    response = _change(
        admin_client, tenant, rate_limit_tenant="10 per second", rate_limit_credential="5/s"
    )
    assert response.status_code == 200  # the form again, with the error on the field
    assert "is not a rate: write N/PERIOD" in response.content.decode()
    assert limits() == ("", "")

    response = _change(admin_client, tenant, rate_limit_tenant="600/min", rate_limit_credential="")
    assert response.status_code == 302, response.content
    assert limits() == ("600/min", "")
    assert AuditLog.objects.get(action="tenant.rate_limit").actor == "admin:ops"


def test_a_tenant_added_in_admin_keeps_its_limits(admin_client: Any) -> None:
    response = admin_client.post(
        reverse("admin:tenants_tenant_add"),
        {
            "slug": "newco",
            "name": "NewCo",
            "enabled_toolsets": ["builtin"],
            "rate_limit_tenant": "",
            "rate_limit_credential": "20/s",
        },
    )
    assert response.status_code == 302, response.content
    assert limits("newco") == ("", "20/s")


# --- what a client is told --------------------------------------------------------------------


@pytest.fixture
def limited(make_tenant: Any, make_api_key: Any) -> tuple[Endpoint, Endpoint]:
    """Two keys of a tenant allowing each credential 2 requests a minute."""
    tenant = make_tenant("acme", toolsets=["builtin"])
    tenant.rate_limit_credential = "2/min"
    tenant.save()
    return Endpoint("acme", make_api_key(tenant)[1]), Endpoint("acme", make_api_key(tenant)[1])


def _is_rate_limit_answer(response: Any, ident: Any) -> None:
    assert response.status == 429, response.body
    assert response.headers["retry-after"] == "30"
    body = response.json()
    assert body["jsonrpc"] == "2.0" and body["id"] == ident
    assert body["error"]["code"] == -32029
    assert body["error"]["message"] == (
        "Rate limit exceeded for this credential (2 requests per minute); retry in 30 s."
    )
    assert body["error"]["data"] == {"retryAfter": 30, "limit": "2/min", "scope": "credential"}


@pytest.mark.django_db(transaction=True)
def test_the_modern_era_gets_429_with_a_json_rpc_error(limited: tuple[Endpoint, Endpoint]) -> None:
    modern, _ = limited
    assert modern.modern("server/discover").status == 200
    assert modern.modern("tools/list").status == 200
    _is_rate_limit_answer(modern.modern("tools/list", ident=7), 7)


@pytest.mark.django_db(transaction=True)
def test_a_legacy_session_gets_429_with_a_json_rpc_error(
    limited: tuple[Endpoint, Endpoint],
) -> None:
    _, legacy = limited
    session = legacy.initialize()  # initialize, then notifications/initialized: two requests
    _is_rate_limit_answer(legacy.legacy(session, "ping", ident="p-1"), "p-1")
    # Not a 404 or a session error: the session is still there once the budget allows.
    from tests.mcpserver.conftest import request

    refused = request("GET", legacy.path, headers=legacy.base_headers(mcp_session_id=session))
    assert refused.status == 429 and refused.json()["id"] is None


def test_a_malformed_default_stops_the_server_at_start(settings: Any) -> None:
    from mcpserver.checks import check_rate_limits

    assert check_rate_limits() == []
    settings.MCP_SERVER = {**settings.MCP_SERVER, "RATE_LIMIT_CREDENTIAL": "100 per minute"}
    errors = check_rate_limits()
    assert [error.id for error in errors] == ["mcpserver.E007"]
    assert "RATE_LIMIT_CREDENTIAL" in errors[0].msg
