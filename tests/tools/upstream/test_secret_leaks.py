"""A secret set with set_tenant_secret is found nowhere in clear afterwards: not in the
database, Redis, the logs at DEBUG, the admin pages or the audit rows, after the gateway
used it for real (the stubs prove they got it)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client as DjangoClient
from django.urls import reverse
from mcp.client.client import Client

from tenants.models import AuditLog, HttpTool, TenantSecret, Upstream
from tests.sessions_store.conftest import use_redis_store  # noqa: F401 (a fixture used here)
from tests.tools.upstream.conftest import API_SECRET, SECRET, Gateway, set_secret


class Everything(logging.Handler):
    """Every record of every logger, formatted with its arguments and traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_logs() -> Iterator[Everything]:
    handler = Everything()
    loggers = [logging.getLogger(), *map(logging.getLogger, logging.root.manager.loggerDict)]
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    watched = [logging.getLogger(), logging.getLogger("django")]
    for logger in watched:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in watched:
            logger.removeHandler(handler)
        for logger, level in levels:
            logger.setLevel(level)


def _database_text() -> str:
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (table names of our own)
            rows.append(repr(cursor.fetchall()))
    return out.getvalue() + "\n".join(rows)


def _redis_bytes(url: str) -> bytes:
    client: Any = redis.Redis.from_url(url)
    found: list[bytes] = []
    for key in client.scan_iter(count=1000):
        found.append(key)
        kind = client.type(key)
        if kind == b"string":
            found.append(client.get(key) or b"")
        elif kind == b"hash":
            found.extend(b"".join(item) for item in client.hgetall(key).items())
        elif kind == b"list":
            found.extend(client.lrange(key, 0, -1))
        elif kind in (b"set", b"zset"):
            found.extend(client.zrange(key, 0, -1) if kind == b"zset" else client.smembers(key))
        elif kind == b"stream":
            for _id, fields in client.xrange(key):
                found.extend(b"".join(item) for item in fields.items())
    assert found, "the gateway used Redis"
    return b"\n".join(found)


def _admin_pages(gateway: Gateway) -> str:
    admin = DjangoClient()
    admin.force_login(get_user_model().objects.create_superuser("ops", "o@example.com", "pw"))
    secret = TenantSecret.objects.get(tenant=gateway.tenant, name="CRM_TOKEN")
    call = AuditLog.objects.filter(action="tool.call").first()
    assert call is not None
    urls = [
        reverse("admin:tenants_tenant_change", args=[gateway.tenant.pk]),
        reverse("admin:tenants_tenant_usage", args=[gateway.tenant.pk]),
        reverse("admin:tenants_tenantsecret_changelist"),
        reverse("admin:tenants_tenantsecret_change", args=[secret.pk]),
        reverse("admin:tenants_upstream_changelist"),
        reverse("admin:tenants_upstream_change", args=[Upstream.objects.first().pk]),  # type: ignore[union-attr]
        reverse("admin:tenants_httptool_change", args=[HttpTool.objects.first().pk]),  # type: ignore[union-attr]
        reverse("admin:tenants_auditlog_changelist"),
        reverse("admin:tenants_auditlog_change", args=[call.pk]),
        reverse("admin:index"),
    ]
    pages = []
    for url in urls:
        response = admin.get(url)
        assert response.status_code == 200, url
        pages.append(response.content.decode())
    return "\n".join(pages)


def test_a_secret_is_found_nowhere_in_clear(
    use_redis_store: str,  # noqa: F811
    gateway: Gateway,
    debug_logs: Everything,  # after the server started: Django's setup replaces root handlers
) -> None:
    # Set again with the command, now that every logger is at DEBUG and captured.
    set_secret("gw", "CRM_TOKEN", SECRET)
    set_secret("gw", "API_TOKEN", API_SECRET)

    async def body(client: Client) -> Any:
        await client.list_tools()
        await client.call_tool("crm.echo", {"text": "x"})
        await client.call_tool("old.fail", {})
        await client.call_tool("get_order", {"id": "1"})

    gateway.run("2026-07-28", body)
    gateway.run("legacy", body)
    # The values did their job: the stubs received them.
    assert f"Bearer {SECRET}" in gateway.mcp.recorder.all_text()
    assert f"Bearer {API_SECRET}" in gateway.api.recorder.all_text()
    assert any(line.startswith("mcp.client") for line in debug_logs.lines)  # DEBUG was on

    database, stored = _database_text(), _redis_bytes(use_redis_store)
    logs, pages = "\n".join(debug_logs.lines), _admin_pages(gateway)
    audit = repr(list(AuditLog.objects.values_list("target", "actor", "details")))
    shown = repr(list(TenantSecret.objects.all())) + str(TenantSecret.objects.first())
    for value in (SECRET, API_SECRET):
        assert value not in database
        assert value.encode() not in stored
        assert value not in logs
        assert value not in pages
        assert value not in audit
        assert value not in shown


def test_a_secret_echoed_by_an_upstream_is_scrubbed_from_the_result(gateway: Gateway) -> None:
    async def body(client: Client) -> Any:
        return await client.call_tool("crm.echo", {"text": f"token is {SECRET}"})

    echoed = gateway.run("2026-07-28", body)
    assert echoed.content[0].text == "echo: token is [secret]"
