"""The server as operators start it: daphne serving mcpserver.asgi:application."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MCP_", "DATABASE_"))
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/serve.sqlite3"
    env.update(extra)
    env.pop("REDIS_URL", None)
    return env


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


@pytest.fixture
def daphne(free_port):
    procs: list[subprocess.Popen] = []

    def start(env: dict[str, str]) -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(free_port),
             "mcpserver.asgi:application"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        procs.append(proc)
        base = f"http://127.0.0.1:{free_port}"
        wait_for(base + "/healthz", proc)
        return base

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


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

    base = daphne(env)
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
    base = daphne(env)
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
