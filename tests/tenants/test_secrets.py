"""Tenant secrets: sealed under the tenant and the name, write-only, re-sealed by
rotate_encryption_key, set by a command that reads standard input only."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import override_settings

from sessions_store.crypto import get_keyring
from tenants import secrets, services
from tenants.models import AuditLog, TenantSecret

pytestmark = pytest.mark.django_db
VALUE = "s3cr3t-value-with-some-length-0a9b"
KEY_A, KEY_B = "aa" * 32, "bb" * 32


def _set(tenant, actor, name="API_TOKEN", value=VALUE):
    return services.tenant_secret_set(tenant=tenant, name=name, value=value, actor=actor)


def test_a_secret_is_sealed_and_read_back_only_by_the_reader(tenant, actor):
    row = _set(tenant, actor)
    assert VALUE.encode() not in bytes(row.sealed)
    assert VALUE not in repr(row) and VALUE not in str(row)
    assert str(row) == "API_TOKEN (…0a9b)"
    assert secrets.secret_value(tenant_id=tenant.pk, name="API_TOKEN") == VALUE
    expanded = secrets.expand_headers(
        {"Authorization": "Bearer {secret:API_TOKEN}"}, tenant_id=tenant.pk
    )
    assert expanded.headers == {"Authorization": f"Bearer {VALUE}"}
    assert VALUE not in repr(expanded)
    assert expanded.scrub(f"echo {VALUE}!") == "echo [secret]!"
    audit = AuditLog.objects.get(action="tenant_secret.set")
    assert audit.target == "API_TOKEN" and VALUE not in repr(audit.details)


def test_a_sealed_value_moved_to_another_tenant_or_name_does_not_open(tenant, make_tenant, actor):
    other = make_tenant("other")
    row = _set(tenant, actor)
    _set(other, actor, value="other-value-1234567890")
    _set(tenant, actor, name="SECOND", value="second-value-1234567890")
    TenantSecret.objects.filter(tenant=other).update(sealed=row.sealed)
    TenantSecret.objects.filter(tenant=tenant, name="SECOND").update(sealed=row.sealed)
    for tenant_id, name in ((other.pk, "API_TOKEN"), (tenant.pk, "SECOND")):
        with pytest.raises(secrets.SecretMissing, match=name):
            secrets.secret_value(tenant_id=tenant_id, name=name)


def test_replacing_a_secret_keeps_one_row_and_says_so(tenant, actor):
    _set(tenant, actor)
    _set(tenant, actor, value="a-new-value-of-some-length")
    assert TenantSecret.objects.count() == 1
    assert (
        secrets.secret_value(tenant_id=tenant.pk, name="API_TOKEN") == "a-new-value-of-some-length"
    )
    replaced = AuditLog.objects.filter(action="tenant_secret.set").order_by("seq")
    assert [row.details["replaced"] for row in replaced] == [False, True]


def test_short_secrets_show_no_last_four(tenant, actor):
    assert _set(tenant, actor, value="short").last_four == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [("API_TOKEN", ""), ("API_TOKEN", "line\nbreak"), ("bad name", "x" * 20), ("1st", "x" * 20)],
)
def test_bad_secrets_are_refused_and_nothing_is_stored(tenant, actor, name, value):
    with pytest.raises(ValidationError) as refused:
        _set(tenant, actor, name=name, value=value)
    assert value not in str(refused.value) or not value
    assert TenantSecret.objects.count() == 0


def test_missing_secrets_are_named_without_values(tenant, actor):
    with pytest.raises(secrets.SecretMissing, match="NOPE"):
        secrets.expand("Bearer {secret:NOPE}", tenant_id=tenant.pk)


def test_rotation_reseals_secrets_under_the_new_key(tenant, actor):
    with override_settings(MCP_SERVER={**settings.MCP_SERVER, "ENCRYPTION_KEYS": [KEY_A]}):
        _set(tenant, actor)
    with override_settings(MCP_SERVER={**settings.MCP_SERVER, "ENCRYPTION_KEYS": [KEY_B, KEY_A]}):
        before = bytes(TenantSecret.objects.get().sealed)
        assert not get_keyring().sealed_by_primary(before)
        out = StringIO()
        call_command("rotate_encryption_key", "--force", stdout=out)
        assert "tenant_secrets_rotated: 1" in out.getvalue()
        after = bytes(TenantSecret.objects.get().sealed)
        assert get_keyring().sealed_by_primary(after)
    with override_settings(MCP_SERVER={**settings.MCP_SERVER, "ENCRYPTION_KEYS": [KEY_B]}):
        assert secrets.secret_value(tenant_id=tenant.pk, name="API_TOKEN") == VALUE


def test_the_command_reads_the_value_from_standard_input(tenant):
    out = StringIO()
    call_command("set_tenant_secret", "acme", "API_TOKEN", stdin=StringIO(VALUE + "\n"), stdout=out)
    assert secrets.secret_value(tenant_id=tenant.pk, name="API_TOKEN") == VALUE
    assert "API_TOKEN" in out.getvalue() and VALUE not in out.getvalue()
    assert AuditLog.objects.get(action="tenant_secret.set").actor == "cli:set_tenant_secret"


# ----- as real processes: one line on stderr, exit 1, nothing changed ---------------------


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    db = tmp_path_factory.mktemp("cli") / "cli.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    for args in (("migrate", "--noinput", "-v", "0"), ("create_tenant", "acme", "--name", "A")):
        subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
                       check=True, capture_output=True)  # fmt: skip
    return env


def manage(env, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=Path(settings.BASE_DIR), env=env,
        capture_output=True, text=True, timeout=60, input=stdin,
    )  # fmt: skip


def _stored(env) -> int:
    import sqlite3

    with sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///")) as db:
        tables = ("tenants_tenantsecret", "tenants_upstream", "tenants_httptool")
        return sum(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables)  # noqa: S608


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (("set_tenant_secret", "acme", "API_TOKEN", VALUE), ""),  # never on the command line
        (("set_tenant_secret", "acme", "API_TOKEN"), ""),
        (("add_http_tool", "acme", "--spec", "-"), "{not json"),
    ],
)  # fmt: skip
def test_bad_input_one_line_exit_1_nothing_changed(cli_env, args, stdin):
    done = manage(cli_env, *args, stdin=stdin)
    assert done.returncode == 1, done.stdout
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert VALUE not in done.stderr + done.stdout
    assert _stored(cli_env) == 0


SPEC = '{"name": "t", "description": "d", "url": "https://a.example/"%s}'
UP = ("add_upstream", "acme", "crm", "--url")
HTTP = ("add_http_tool", "acme", "--spec", "-")
CRM = "https://crm.example.com/mcp"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("set_tenant_secret", "nobody", "API_TOKEN"), VALUE, "No tenant"),
        (("set_tenant_secret", "acme", "bad name"), VALUE, "secret name"),
        ((*UP, "ftp://crm.example.com/mcp"), "", "http or https"),
        (("add_upstream", "acme", "Bad", "--url", CRM), "", "upstream name"),
        ((*UP, "https://u:p@crm.example.com/mcp"), "", "not in the URL"),
        ((*UP, CRM, "--header", "Authorization=Bearer literal"), "", "reference a tenant secret"),
        ((*UP, CRM, "--header", "Host=evil.example.com"), "", "set by the server"),
        (("add_http_tool", "acme", "--spec", "/nonexistent.json"), "", "Cannot read"),
        (HTTP, SPEC.replace('"t"', '"x.y"') % "", "no dot"),
        (HTTP, SPEC.replace("a.example/", "{host}/") % "", "never the scheme or host"),
        (HTTP, SPEC.replace("a.example/", "a.example/{id}") % "", "must be required"),
        (HTTP, SPEC.replace('"t"', '"whoami"') % "", "already has a tool"),
        (HTTP, SPEC % ', "hedaers": {}', "Unknown field(s): hedaers"),
        (HTTP, SPEC % ', "query": {"k": "{secret:X}"}', "headers only"),
    ],
)
def test_bad_input_is_refused_with_what_to_fix_and_nothing_changed(tenant, args, stdin, message):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as refused:
        call_command(*args, stdin=StringIO(stdin), stdout=StringIO()) if args[
            0
        ] != "add_upstream" else call_command(*args, stdout=StringIO())
    assert message in str(refused.value)
    assert VALUE not in str(refused.value)
    assert not TenantSecret.objects.exists()
    assert not tenant.upstreams.exists() and not tenant.http_tools.exists()


def test_the_commands_as_an_operator_runs_them(cli_env, tmp_path):
    done = manage(cli_env, "set_tenant_secret", "acme", "CRM_TOKEN", stdin=VALUE + "\n")
    assert done.returncode == 0, done.stderr
    done = manage(cli_env, "add_upstream", "acme", "crm", "--url", "https://crm.example.com/mcp",
                  "--header", "Authorization=Bearer {secret:CRM_TOKEN}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    spec = tmp_path / "t.json"
    spec.write_text(
        '{"name": "lookup", "description": "Look it up.", "url": "https://a.example/x"}'
    )
    done = manage(cli_env, "add_http_tool", "acme", "--spec", str(spec))
    assert done.returncode == 0, done.stderr
    done = manage(cli_env, "set_tenant_tools", "acme", "--disable-tools", "lookup,crm.echo")
    assert done.returncode == 0, done.stderr
    dumped = manage(cli_env, "dumpdata", "tenants").stdout
    assert VALUE not in dumped and "{secret:CRM_TOKEN}" in dumped
