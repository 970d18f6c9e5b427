"""Shared fixtures: factories for tenants and credentials, an actor, an admin client."""

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from mcpserver.process import process_state
from tenants import services
from tenants.audit import Actor
from tenants.models import ApiKey, Tenant
from tests import ports
from tests.fleet.services import PostgresServer

ROOT = Path(__file__).resolve().parents[1]


def pytest_sessionstart(session: pytest.Session) -> None:
    """The servers and commands tests start outside debug mode need the collected static
    manifest (check mcpserver.E008), as a deployment does: collect it once if missing."""
    if (ROOT / "staticfiles" / "staticfiles.json").is_file():
        return
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mcpserver.settings", "DJANGO_DEBUG": "0"}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip


@pytest.fixture(scope="session", autouse=True)
def _close_executor_connections(django_db_setup: Any) -> Iterator[None]:
    """Connections persist (CONN_MAX_AGE): the one that sync code run from a test's own event
    loop opened, in asgiref's shared thread, is closed before the test databases are dropped."""
    yield
    asyncio.run(sync_to_async(connections.close_all)())


@pytest.fixture(autouse=True)
def _forget_process_state() -> Iterator[None]:
    """What a process keeps for itself (cached tenants, keys, the store) belongs to one test."""
    process_state.reset()
    yield
    process_state.reset()


@pytest.fixture
def actor() -> Actor:
    return Actor(name="test:pytest", client_ip="127.0.0.1", request_id="req-test")


@pytest.fixture
def make_tenant(db: Any, actor: Actor) -> Callable[..., Tenant]:
    counter = iter(range(1, 10_000))

    def make(slug: str | None = None, **kwargs: Any) -> Tenant:
        slug = slug or f"tenant-{next(counter)}"
        kwargs.setdefault("name", slug.title())
        return services.tenant_create(slug=slug, actor=actor, **kwargs)

    return make


@pytest.fixture
def tenant(make_tenant: Callable[..., Tenant]) -> Tenant:
    return make_tenant("acme", name="Acme Corp")


@pytest.fixture
def make_api_key(actor: Actor) -> Callable[..., tuple[ApiKey, str]]:
    def make(tenant: Tenant, name: str = "ci", **kwargs: Any) -> tuple[ApiKey, str]:
        return services.api_key_create(tenant=tenant, name=name, actor=actor, **kwargs)

    return make


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The throwaway Redis started by bin/with-test-services (make test)."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.fail("TEST_REDIS_URL is not set: run the suite with `make test`.")
    return url


@pytest.fixture
def free_port() -> int:
    return ports.free_port()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="run only the tests that use the test database (the PostgreSQL pass: the others "
        "do the same work on either database and ran in the SQLite pass)",
    )


_DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}
)


def _uses_database(item: pytest.Item) -> bool:
    """A django_db mark, or a database fixture among everything the test asks for."""
    names = set(getattr(item, "fixturenames", ()))
    return item.get_closest_marker("django_db") is not None or bool(names & _DATABASE_FIXTURES)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--database-tests-only"):
        return
    kept = [item for item in items if _uses_database(item)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if not _uses_database(item)])
        items[:] = kept


def pytest_report_header(config: Any) -> str:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"database: {engine}; redis for tests: {os.environ.get('TEST_REDIS_URL', 'none')}"


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    """A private PostgreSQL of the test's own, which it may stop and start again."""
    # Not under pytest's tmp_path: as root, the server runs as "postgres", who must be able
    # to reach its directory.
    try:
        server = PostgresServer(Path(tempfile.mkdtemp(prefix="mcp-pg-")))
    except RuntimeError as missing:  # PostgreSQL not installed
        pytest.skip(str(missing))
    try:
        server.init()
        yield server
    finally:
        server.remove()
