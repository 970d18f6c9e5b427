"""The ops commands: in-process for behaviour, and as real processes for stdout and exit codes."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from tenants import key_material
from tenants.models import ApiKey, AuditLog, IdentityProvider, Tenant
from tests.databases import seed_sqlite


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestInProcess:
    def test_create_tenant(self):
        out = run("create_tenant", "acme", "--name", "Acme", "--toolsets", "builtin,conformance")
        tenant = Tenant.objects.get(slug="acme")
        assert tenant.enabled_toolsets == ["builtin", "conformance"]
        assert "http://testserver/mcp/acme" in out
        assert AuditLog.objects.get().actor == "cli:create_tenant"

    def test_add_identity_provider(self, tenant):
        run(
            "add_identity_provider", "acme", "--issuer", "https://idp.example.com",
            "--algorithms", "ES256", "--org-claim", "org", "--org-value", "acme",
            "--scopes-claim", "permissions",
        )  # fmt: skip
        provider = IdentityProvider.objects.get()
        assert (provider.algorithms, provider.org_claim, provider.scopes_claim) == (
            ["ES256"],
            "org",
            "permissions",
        )
        assert provider.allow_private_network is False

    def test_add_identity_provider_inside_the_private_network(self, tenant):
        run("add_identity_provider", "acme", "--issuer", "http://127.0.0.1:9000", "--allow-private")
        assert IdentityProvider.objects.get().allow_private_network is True

    def test_create_api_key_prints_raw_key_alone_on_last_line(self, tenant):
        out = run(
            "create_api_key", "acme", "--name", "ci", "--scopes", "a,b", "--expires-in-days", "30"
        )
        raw = out.rstrip("\n").splitlines()[-1]
        key = ApiKey.objects.get()
        assert key_material.looks_like_api_key(raw) and key.digest == key_material.digest_of(raw)
        assert key.scopes == ["a", "b"] and key.expires_at is not None
        assert out.count(raw) == 1

    def test_revoke_api_key(self, tenant, make_api_key):
        key, _ = make_api_key(tenant)
        assert "revoked" in run("revoke_api_key", key.public_id)
        key.refresh_from_db()
        assert key.is_revoked

    @pytest.mark.parametrize(
        "args",
        [
            ("create_tenant", "Bad Slug", "--name", "X"),
            ("create_tenant", "admin", "--name", "X"),
            ("create_tenant", "acme2", "--name", "X", "--toolsets", "nope"),
            ("add_identity_provider", "nobody", "--issuer", "https://idp.example.com"),
            ("add_identity_provider", "acme", "--issuer", "http://idp.example.com"),
            (
                "add_identity_provider",
                "acme",
                "--issuer",
                "https://i.example",
                "--algorithms",
                "HS256",
            ),
            ("create_api_key", "nobody", "--name", "ci"),
            ("create_api_key", "acme", "--name", "ci", "--scopes", 'bad"scope'),
            ("revoke_api_key", "ak_doesnotexist"),
        ],
    )
    def test_bad_input_raises_and_changes_nothing(self, tenant, args):
        before = (Tenant.objects.count(), IdentityProvider.objects.count(), ApiKey.objects.count())
        audit_before = AuditLog.objects.count()
        with pytest.raises(CommandError):
            run(*args)
        after = (Tenant.objects.count(), IdentityProvider.objects.count(), ApiKey.objects.count())
        assert after == before and AuditLog.objects.count() == audit_before

    def test_duplicate_slug(self, tenant):
        with pytest.raises(CommandError, match="already exists"):
            run("create_tenant", "acme", "--name", "Again")

    @pytest.mark.parametrize(
        "args",
        [
            ("create_tenant", "acme2"),  # --name missing
            ("create_api_key", "acme", "--name", "ci", "--expires-in-days", "0"),
            ("create_api_key", "acme", "--name", "ci", "--expires-in-days", "soon"),
        ],
    )
    def test_bad_arguments_exit_1(self, tenant, args, capsys):
        with pytest.raises(SystemExit) as exc:
            call_command(*args)
        assert exc.value.code == 1
        assert ApiKey.objects.count() == 0


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    """A migrated SQLite database file that real `manage.py` processes share."""
    db = tmp_path_factory.mktemp("cli") / "cli.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    seed_sqlite(env["DATABASE_URL"])
    return env


def manage(env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(settings.BASE_DIR), env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.own_database  # real processes on a SQLite file of their own
def test_onboarding_with_real_processes(cli_env):
    done = manage(cli_env, "create_tenant", "acme", "--name", "Acme Corp")
    assert done.returncode == 0, done.stderr
    done = manage(cli_env, "add_identity_provider", "acme", "--issuer", "https://idp.example.com")
    assert done.returncode == 0, done.stderr
    done = manage(cli_env, "create_api_key", "acme", "--name", "ci")
    assert done.returncode == 0, done.stderr
    raw = done.stdout.splitlines()[-1]
    assert key_material.looks_like_api_key(raw)
    key_id = next(word for word in done.stdout.split() if word.startswith("ak_"))
    done = manage(cli_env, "revoke_api_key", key_id)
    assert done.returncode == 0 and "revoked" in done.stdout


@pytest.mark.own_database  # real processes on a SQLite file of their own
@pytest.mark.parametrize(
    "args",
    [
        ("create_tenant", "admin", "--name", "X"),
        ("create_tenant", "acme-x"),
        ("create_api_key", "nobody", "--name", "ci"),
        ("create_api_key", "acme", "--name", "ci", "--expires-in-days", "-3"),
        ("revoke_api_key", "ak_nope"),
    ],
)
def test_bad_input_one_line_and_exit_1(cli_env, args):
    done = manage(cli_env, *args)
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
