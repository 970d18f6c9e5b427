"""The exact commands of the image and the Kubernetes manifests, run outside the container:
migrate, collectstatic, the uvicorn command line (two workers), the health check, the Celery
worker (and its liveness probe) and beat, on a throwaway PostgreSQL database and Redis, with
the manifests' settings. What differs from a cluster: the listening address and port (loopback
and a free port instead of 0.0.0.0:8000) and the secrets (fresh test values).
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.deploy import manifests
from tests.ports import free_port

pytestmark = pytest.mark.own_database
PROBE_HOST = "mcp.example.com"


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        pytest.skip("TEST_POSTGRES_URL is not set: run with bin/with-test-services")
    import psycopg

    name = f"deploy_{secrets.token_hex(4)}"
    parts = urlsplit(base)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def env(database: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    redis = os.environ["TEST_REDIS_URL"]
    assert redis.startswith("unix://")
    socket_path = redis.removeprefix("unix://")
    tmp = tmp_path_factory.mktemp("deploy")
    return {
        **manifests.image_env(),
        **manifests.k8s_config(),
        # The image's /opt/venv/bin is this checkout's virtualenv here.
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOME": str(tmp),
        # The Secret's keys, with fresh values.
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "MCP_ENCRYPTION_KEYS": secrets.token_hex(32),
        "DATABASE_URL": database,
        "REDIS_URL": f"unix://{socket_path}?db=7",
        "CELERY_BROKER_URL": f"redis+socket://{socket_path}?virtual_host=8",
        "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp / "celerybeat-schedule"),
        "TMPDIR": str(tmp),
    }


def get(url: str, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (loopback http)
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=manifests.ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=manifests.ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def migrated(env: dict[str, str]) -> dict[str, str]:
    command = manifests.k8s_container("Job", "mcp-server-migrate")["command"]
    assert command == ["python", "manage.py", "migrate", "--noinput"]
    result = run([sys.executable, *command[1:]], env)
    assert result.returncode == 0, result.stderr
    return env


def test_build_steps_and_check_deploy_are_clean(migrated: dict[str, str]) -> None:
    (collect,) = manifests.image_build_steps()
    assert collect[:3] == ["python", "manage.py", "collectstatic"]
    result = run([sys.executable, *collect[1:]], migrated)
    assert result.returncode == 0, result.stderr
    assert (manifests.ROOT / "staticfiles" / "staticfiles.json").is_file()

    check = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], migrated
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "System check identified no issues" in check.stdout


@pytest.fixture(scope="module")
def web(migrated: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    command = manifests.image_command()
    assert command[:2] == ["sh", "-c"] and '--workers "$WEB_CONCURRENCY"' in command[2]
    script = command[2].replace("--host 0.0.0.0 --port 8000", f"--host 127.0.0.1 --port {port}")
    assert script != command[2]
    env = {**migrated, "WEB_CONCURRENCY": "2"}
    proc = start(["sh", "-c", script], env, tmp_path_factory.mktemp("web") / "web.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def test_the_image_health_check_passes_once_uvicorn_serves(web: str, migrated) -> None:
    check = manifests.image_healthcheck()
    assert check[:3] == ["python", "-m", "mcpserver.probe"]
    probe = [
        sys.executable,
        "-m",
        "mcpserver.probe",
        check[3].replace("http://127.0.0.1:8000", web),
    ]
    deadline = time.monotonic() + 60
    while (result := run(probe, migrated, timeout=10)).returncode != 0:
        assert time.monotonic() < deadline, result.stderr
        time.sleep(0.5)
    # The manifests' probes, as the kubelet sends them (Host header and all).
    container = manifests.k8s_container("Deployment", "mcp-server-web")
    for name in ("readinessProbe", "livenessProbe", "startupProbe"):
        spec = container[name]["httpGet"]
        headers = {h["name"]: h["value"] for h in spec.get("httpHeaders", [])}
        status, body = get(web + spec["path"], headers)
        assert status == 200 and body["status"] in {"ok", "ready"}
    status, body = get(web + "/readyz", {"Host": PROBE_HOST})
    assert body["checks"] == {"database": "ok", "redis": "ok"}


def test_a_plain_http_admin_request_is_sent_to_https(web: str) -> None:
    request = urllib.request.Request(web + "/admin/", headers={"Host": PROBE_HOST})  # noqa: S310

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as caught:
        opener.open(request, timeout=5)
    assert caught.value.code == 301
    assert caught.value.headers["Location"] == f"https://{PROBE_HOST}/admin/"


def test_worker_beat_and_the_worker_probe(migrated: dict[str, str], tmp_path: Path) -> None:
    worker_cmd = manifests.k8s_container("Deployment", "mcp-server-worker")["command"]
    beat_cmd = manifests.k8s_container("Deployment", "mcp-server-beat")["command"]
    probe = manifests.k8s_container("Deployment", "mcp-server-worker")["livenessProbe"]["exec"]
    assert worker_cmd[:4] == ["celery", "-A", "mcpserver", "worker"]
    assert beat_cmd[:4] == ["celery", "-A", "mcpserver", "beat"]
    # A pod's $HOSTNAME is its host name, which the worker puts in its node name.
    env = {**migrated, "HOSTNAME": socket.gethostname()}
    schedule = str(tmp_path / "schedule")
    beat_cmd = [schedule if a.endswith("celerybeat-schedule") else a for a in beat_cmd]
    worker = start([sys.executable, "-m", *worker_cmd], env, tmp_path / "worker.log")
    beat = start([sys.executable, "-m", *beat_cmd], env, tmp_path / "beat.log")
    try:
        deadline = time.monotonic() + 60
        while (result := run(probe["command"], env, timeout=30)).returncode != 0:
            assert time.monotonic() < deadline, result.stdout + result.stderr
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(1)
        assert "pong" in result.stdout
        # A job sent as beat and the web processes send them reaches the worker and runs.
        send = run([sys.executable, "-c", (
            "import django; django.setup(); from tenants.tasks import check_jwks; "
            "print(check_jwks.delay().id)"
        )], {**env, "DJANGO_SETTINGS_MODULE": "mcpserver.settings"})  # fmt: skip
        assert send.returncode == 0, send.stderr
        job_id = send.stdout.strip().splitlines()[-1]
        deadline = time.monotonic() + 30
        while f"{job_id}] succeeded" not in (tmp_path / "worker.log").read_text():
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-4000:]
            time.sleep(0.5)
        assert beat.poll() is None, (tmp_path / "beat.log").read_text()
        assert "beat: Starting" in (tmp_path / "beat.log").read_text()
    finally:
        stop(beat)
        stop(worker)


def _tool_calls_stored(database: str) -> int:
    import psycopg

    with psycopg.connect(database) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM tenants_auditlog WHERE action = 'tool.call'"
        ).fetchall()[0]
        return int(count)


def test_the_drainer_moves_what_the_web_processes_leave_in_the_stream(
    web: str, migrated: dict[str, str], tmp_path: Path
) -> None:
    assert migrated["MCP_AUDIT_DRAIN_IN_PROCESS"] == "false"  # the ConfigMap's
    command = manifests.k8s_container("Deployment", "mcp-server-drainer")["command"]
    assert command == ["python", "manage.py", "drain_audit", "--follow"]
    manage = [sys.executable, "manage.py"]
    assert run([*manage, "create_tenant", "drained", "--name", "Drained"], migrated).returncode == 0
    made = run([*manage, "create_api_key", "drained", "--name", "ci"], migrated)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    before = _tool_calls_stored(migrated["DATABASE_URL"])
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "whoami", "arguments": {}, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}}  # fmt: skip
    request = urllib.request.Request(  # noqa: S310 (loopback http)
        web + "/mcp/drained", data=json.dumps(body).encode(), method="POST", headers={
            "Host": PROBE_HOST, "X-Forwarded-Proto": "https", "Authorization": f"Bearer {key}",
            "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "whoami",
        })  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200 and "result" in json.loads(response.read())
    time.sleep(1.5)  # three in-process drain intervals: no web process drains
    assert _tool_calls_stored(migrated["DATABASE_URL"]) == before

    drainer = start([sys.executable, *command[1:]], migrated, tmp_path / "drainer.log")
    try:
        deadline = time.monotonic() + 30
        while _tool_calls_stored(migrated["DATABASE_URL"]) == before:
            assert drainer.poll() is None, (tmp_path / "drainer.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "drainer.log").read_text()
            time.sleep(0.2)
        assert _tool_calls_stored(migrated["DATABASE_URL"]) == before + 1
    finally:
        os.killpg(drainer.pid, signal.SIGTERM)
        code = drainer.wait(timeout=10)  # the round under way finishes, then it exits
    log = (tmp_path / "drainer.log").read_text()
    assert code == 0, log
    assert "Stopped; records moved: 1." in log and "Traceback" not in log, log
