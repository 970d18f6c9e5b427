"""The server as operators start it: daphne serving mcpserver.asgi:application."""

import os
import subprocess
import sys

import pytest

from tests.mcpserver.conftest import ROOT, base_env, get

# Servers on a database of their own: the result does not depend on the suite's database,
# so the PostgreSQL pass skips them (make test runs them once).
pytestmark = pytest.mark.own_database


def test_embedded_default_serves_and_bootstraps_a_working_key(tmp_path, daphne):
    env = base_env(tmp_path, DJANGO_DEBUG="1")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    key_file = str(tmp_path / "demo-key")
    first = subprocess.run(
        [*manage, "bootstrap_demo", "--key-file", key_file],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    again = subprocess.run(
        [*manage, "bootstrap_demo", "--key-file", key_file],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    raw = first.stdout.splitlines()[-1]
    assert raw.startswith("mcpk_")
    assert again.stdout.splitlines()[-1] == raw  # idempotent: same tenant, same key
    assert "http://127.0.0.1:8000/mcp/demo" in first.stdout
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"

    base = daphne(env).base
    assert get(base + "/healthz")[0] == 200
    assert get(base + "/readyz")[0] == 200
    status, body = get(base + "/admin/login/")
    assert status == 200 and b"MCP server" in body
    assert get(base + "/static/admin/css/base.css")[0] == 200


def test_readyz_names_an_unreachable_database(tmp_path, daphne):
    env = base_env(
        tmp_path,
        DJANGO_DEBUG="1",
        DATABASE_URL=f"postgres://nobody@{str(tmp_path / 'no-socket').replace('/', '%2F')}/mcp",
    )
    base = daphne(env).base
    assert get(base + "/healthz")[0] == 200
    status, body = get(base + "/readyz")
    assert status == 503
    assert b'"failing": ["database"]' in body


def test_production_refuses_to_start_without_secrets(tmp_path):
    env = base_env(tmp_path)  # no DJANGO_DEBUG, no DJANGO_SECRET_KEY, no MCP_ENCRYPTION_KEYS
    done = subprocess.run(
        [sys.executable, "-c", "import mcpserver.asgi"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "mcpserver.E001" in done.stderr and "mcpserver.E002" in done.stderr
    check = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert check.returncode == 1 and "mcpserver.E001" in check.stderr


def test_production_starts_with_secrets(tmp_path):
    env = base_env(
        tmp_path,
        DJANGO_SECRET_KEY="s" * 50,
        MCP_ENCRYPTION_KEYS="ab" * 32,
        MCP_PUBLIC_URL="https://mcp.example.com",
    )
    done = subprocess.run(
        [sys.executable, "-c", "import mcpserver.asgi"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
