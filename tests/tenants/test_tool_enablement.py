"""Per-tenant tool enablement: the service, the command, internal sets, the announcement."""

import asyncio
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from tenants import services
from tenants.models import AuditLog, Tenant
from tenants.signals import tools_changed
from tests.databases import seed_sqlite
from tools.events import tenant_group
from tools.registry import catalogue_for

pytestmark = pytest.mark.django_db

NO_INTERNAL = {**settings.MCP_SERVER, "ALLOW_INTERNAL_TOOLSETS": False}


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def acme(make_tenant):
    return make_tenant("acme", toolsets=["builtin", "conformance"])


async def receive_within(layer, channel: str, seconds: float) -> dict:
    return await asyncio.wait_for(layer.receive(channel), seconds)


def state(tenant: Tenant) -> tuple[list[str], list[str], int]:
    tenant.refresh_from_db()
    return tenant.enabled_toolsets, tenant.disabled_tools, AuditLog.objects.count()


class TestService:
    def test_disable_and_enable_a_tool_audited_with_before_and_after(self, acme, actor):
        services.tenant_set_tools(
            tenant=acme, disable_tools=["test_simple_text", "whoami"], actor=actor
        )
        acme.refresh_from_db()
        assert acme.disabled_tools == ["test_simple_text", "whoami"]
        record = AuditLog.objects.filter(action="tenant.set_tools").get()
        assert record.details == {
            "before": {"toolsets": ["builtin", "conformance"], "disabled_tools": []},
            "after": {
                "toolsets": ["builtin", "conformance"],
                "disabled_tools": ["test_simple_text", "whoami"],
            },
        }
        names = [
            t.name for t in catalogue_for(("builtin", "conformance"), ("test_simple_text",)).tools
        ]
        assert "test_simple_text" not in names and "test_image_content" in names

        services.tenant_set_tools(tenant=acme, enable_tools=["whoami"], actor=actor)
        assert state(acme)[1] == ["test_simple_text"]

    def test_unknown_tool_is_refused_with_close_matches_and_nothing_changes(self, acme, actor):
        before = state(acme)
        with pytest.raises(ValidationError) as exc:
            services.tenant_set_tools(tenant=acme, disable_tools=["whoamii"], actor=actor)
        assert "Unknown tool 'whoamii' (did you mean whoami?)" in str(exc.value)
        with pytest.raises(ValidationError, match=r"Unknown tool .zzz. .no tool set offers it"):
            services.tenant_set_tools(
                tenant=acme, toolsets=["builtin"], enable_tools=["zzz"], actor=actor
            )
        assert state(acme) == before

    def test_upstream_names_are_accepted_unchecked(self, acme, actor):
        services.tenant_set_tools(tenant=acme, disable_tools=["crm.delete_all"], actor=actor)
        assert state(acme)[1] == ["crm.delete_all"]
        with pytest.raises(ValidationError, match="Invalid tool name"):
            services.tenant_set_tools(tenant=acme, disable_tools=["crm.bad name"], actor=actor)

    def test_the_same_tool_enabled_and_disabled_is_refused(self, acme, actor):
        with pytest.raises(ValidationError, match="Both enabled and disabled: whoami"):
            services.tenant_set_tools(
                tenant=acme, enable_tools=["whoami"], disable_tools=["whoami"], actor=actor
            )

    def test_no_change_writes_no_audit(self, acme, actor):
        before = state(acme)
        services.tenant_set_tools(tenant=acme, toolsets=["builtin", "conformance"], actor=actor)
        assert state(acme) == before

    @override_settings(MCP_SERVER=NO_INTERNAL)
    def test_internal_sets_cannot_be_enabled(self, make_tenant, actor):
        with pytest.raises(ValidationError, match=r"Internal tool set.*conformance"):
            make_tenant("globex", toolsets=["builtin", "conformance"])
        assert not Tenant.objects.filter(slug="globex").exists()
        tenant = make_tenant("globex", toolsets=["builtin"])
        before = state(tenant)
        for change in (
            lambda: services.tenant_set_tools(
                tenant=tenant, toolsets=["builtin", "conformance"], actor=actor
            ),
            lambda: services.tenant_update(
                tenant=tenant, toolsets=["builtin", "conformance"], actor=actor
            ),
        ):
            with pytest.raises(ValidationError, match="Internal tool set"):
                change()
            assert state(tenant) == before

    def test_an_internal_set_already_enabled_stays_editable(self, acme, actor):
        with override_settings(MCP_SERVER=NO_INTERNAL):
            services.tenant_set_tools(tenant=acme, disable_tools=["whoami"], actor=actor)
        assert state(acme)[:2] == (["builtin", "conformance"], ["whoami"])

    def test_listeners_are_told_after_commit_only(
        self, acme, actor, django_capture_on_commit_callbacks
    ):
        layer = get_channel_layer()
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(tenant_group(acme.pk), channel)
        with django_capture_on_commit_callbacks(execute=False) as pending:
            services.tenant_set_tools(tenant=acme, disable_tools=["whoami"], actor=actor)
        assert pending, "the announcement waits for the commit"
        with pytest.raises(TimeoutError):
            async_to_sync(receive_within)(layer, channel, 0.2)
        for callback in pending:
            callback()
        message = async_to_sync(receive_within)(layer, channel, 2)
        assert message["method"] == "notifications/tools/list_changed"

    def test_a_failed_announcement_is_logged_and_the_change_stands(
        self, acme, actor, django_capture_on_commit_callbacks, caplog
    ):
        def broken(sender, **kwargs):
            raise ConnectionError("channel layer down")

        tools_changed.connect(broken, dispatch_uid="broken-test")
        try:
            with django_capture_on_commit_callbacks(execute=True):
                services.tenant_set_tools(tenant=acme, disable_tools=["whoami"], actor=actor)
        finally:
            tools_changed.disconnect(dispatch_uid="broken-test")
        assert state(acme)[1] == ["whoami"]
        assert "not announced" in caplog.text and "ConnectionError" in caplog.text


class TestCommand:
    def test_set_tenant_tools(self, acme):
        out = run("set_tenant_tools", "acme", "--toolsets", "builtin,conformance",
                  "--disable-tools", "whoami,test_simple_text")  # fmt: skip
        assert "disabled tools test_simple_text, whoami" in out
        out = run("set_tenant_tools", "acme", "--enable-tools", "whoami")
        assert "updated" in out and "disabled tools test_simple_text." in out
        assert AuditLog.objects.get(action="tenant.set_tools", details__after__disabled_tools=[
            "test_simple_text"]).actor == "cli:set_tenant_tools"  # fmt: skip

    @pytest.mark.parametrize(
        "args",
        [
            ("nobody", "--disable-tools", "whoami"),
            ("acme",),
            ("acme", "--disable-tools", "whoamii"),
            ("acme", "--toolsets", "builtin,nope"),
            ("acme", "--enable-tools", "whoami", "--disable-tools", "whoami"),
            ("acme", "--toolsets", "builtin,builtin"),
        ],
    )
    def test_bad_input_raises_and_changes_nothing(self, acme, args):
        before = state(acme)
        with pytest.raises(CommandError):
            run("set_tenant_tools", *args)
        assert state(acme) == before

    @override_settings(MCP_SERVER=NO_INTERNAL)
    def test_internal_set_refused(self, make_tenant):
        tenant = make_tenant("globex", toolsets=["builtin"])
        with pytest.raises(CommandError, match=r"Internal tool set.*conformance"):
            run("set_tenant_tools", "globex", "--toolsets", "builtin,conformance")
        assert state(tenant)[0] == ["builtin"]


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(settings.BASE_DIR), env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.own_database
def test_real_process_bad_input_is_one_line_exit_1_and_internal_sets_refused(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MCP_ALLOW")},
        "DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3",
        "DJANGO_SETTINGS_MODULE": "mcpserver.settings",
        "DJANGO_DEBUG": "1",
    }
    seed_sqlite(env["DATABASE_URL"])
    assert manage(env, "create_tenant", "acme", "--name", "Acme").returncode == 0
    for args in (("--disable-tools", "whoamii"), ("--toolsets", "builtin,conformance")):
        done = manage(env, "set_tenant_tools", "acme", *args)
        assert done.returncode == 1, done
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr
    refused = manage(env, "create_tenant", "globex", "--name", "G", "--toolsets", "conformance")
    assert refused.returncode == 1 and "Internal tool set" in refused.stderr
    done = manage(env, "set_tenant_tools", "acme", "--disable-tools", "whoami")
    assert done.returncode == 0 and "disabled tools whoami" in done.stdout
    allowed = manage(
        {**env, "MCP_ALLOW_INTERNAL_TOOLSETS": "1"},
        "set_tenant_tools", "acme", "--toolsets", "builtin,conformance",
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
