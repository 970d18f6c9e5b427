"""Requests per second and p50/p99 latency of ``tools/call`` over HTTP, beside reference apps.

    python -m benchmarks.mcp_http [--seconds 5] [--rounds 3] [--connections 32]

Starts, on a throwaway SQLite database with one tenant and one API key, five servers pinned
to one core (``taskset -c 0``): the project's application and a bare ASGI app under daphne,
the same two under uvicorn (uvloop, httptools), and the official MCP SDK's stateless server
under uvicorn; the project's application twice more, called with ``whoami_by_hand`` (the same
tool as a hand-built ``Tool``, ``benchmarks/tools.py``) beside ``whoami`` (written with
tools.authoring). ``wrk`` runs pinned to the other core and sends a 2026-07-28 ``tools/call``
(a fixed JSON body to the bare apps). Runs are interleaved round by round and the
median of the rounds is printed, with the ratios the targets are judged by. Needs ``wrk`` and
``taskset`` and two cores; every figure is noisy on a shared machine: quote the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
UVICORN = [PY, "-m", "uvicorn", "--loop", "uvloop", "--http", "httptools"]
UVICORN += ["--log-level", "warning", "--no-access-log"]
DAPHNE = [PY, "-m", "daphne", "-v", "0"]


@dataclass
class Target:
    name: str
    command: list[str]
    path: str
    authorized: bool
    port: int = 0
    runs: list[dict[str, float]] = field(default_factory=list)
    tool: str = "whoami"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"{name} is needed (Debian: apt-get install {name})")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call_body(tool: str) -> str:
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    params = {"name": tool, "arguments": {}, "_meta": meta}
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})


def wrk_script(directory: Path, key: str | None, tool: str) -> Path:
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": tool,
    }
    if key:
        headers["Authorization"] = f"Bearer {key}"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(call_body(tool))}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path = directory / f"{'auth' if key else 'plain'}-{tool}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(url: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    command = [
        _tool("taskset"),
        "-c",
        "1",
        _tool("wrk"),
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
    ]
    command += ["--latency", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\n\s+50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\n\s+99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "errors": float(non2xx.group(1) if non2xx else 0)}


SEED_REQUIREMENTS = """
from tenants.audit import Actor
from tenants.models import Tenant
from tools.workspace.services import requirement_create
tenant = Tenant.objects.get(slug="bench")
for n in range(20):
    requirement_create(tenant_id=tenant.pk, title=f"Requirement {n}", description="x" * 200,
                       repositories=["bench/api", "bench/web"], created_by="bench",
                       actor=Actor.system("bench"))
"""


def prepare(env: dict[str, str]) -> str:
    def manage(*args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    manage("migrate", "--noinput", "-v", "0")
    toolsets = "builtin,bench-by-hand,workspace"
    manage("create_tenant", "bench", "--name", "Bench", "--toolsets", toolsets)
    # A workspace read worth measuring: a page of 20 requirements with their repositories.
    manage("shell", "-v", "0", "-c", SEED_REQUIREMENTS)
    # Serving is measured, not refusing: the default per-credential limit would turn most of
    # the load into 429s (its own cost is in the README, "Rate limits").
    manage("set_rate_limit", "bench", "--credential", "off")
    created = manage("create_api_key", "bench", "--name", "bench", "--scopes", "workspace:read")
    return created.strip().splitlines()[-1]


def wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server exited early: {process.args!r}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"a server did not start: {process.args!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        _tool(tool)
    work = Path(tempfile.mkdtemp(prefix="mcp-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "MCP_ENCRYPTION_KEYS": secrets.token_hex(32),
        "DATABASE_URL": f"sqlite:///{work}/db.sqlite3",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
    }
    processes: list[subprocess.Popen[bytes]] = []
    redis_server = shutil.which("redis-server")
    if redis_server:
        # The production shape: shared store, caches and Channels layer on Redis.
        sock = work / "redis.sock"
        processes.append(
            subprocess.Popen(  # noqa: S603
                [redis_server, "--port", "0", "--unixsocket", str(sock), "--save", ""],
                stdout=subprocess.DEVNULL,
                cwd=work,
            )
        )
        for _ in range(50):
            if sock.exists():
                break
            time.sleep(0.1)
        env["REDIS_URL"] = f"unix://{sock}"
    key = prepare(env)
    uvicorn = [*UVICORN, "--lifespan", "off"]
    targets = [
        Target("daphne  bare ASGI app", DAPHNE, "/", authorized=False),
        Target("daphne  this server", DAPHNE, "/mcp/bench", authorized=True),
        Target("uvicorn bare ASGI app", uvicorn, "/", authorized=False),
        Target("uvicorn this server", uvicorn, "/mcp/bench", True),
        Target("uvicorn official SDK", [*UVICORN, "--lifespan", "on"], "/mcp", authorized=False),
        Target("daphne  by-hand tool", DAPHNE, "/mcp/bench", True, tool="whoami_by_hand"),
        Target("uvicorn by-hand tool", uvicorn, "/mcp/bench", True, tool="whoami_by_hand"),
        Target("uvicorn list_requirements", uvicorn, "/mcp/bench", True, tool="list_requirements"),
    ]
    apps = [
        "benchmarks.reference_apps:bare",
        "mcpserver.asgi:application",
        "benchmarks.reference_apps:bare",
        "mcpserver.asgi:application",
        "benchmarks.reference_apps:sdk",
        "mcpserver.asgi:application",
        "mcpserver.asgi:application",
        "mcpserver.asgi:application",
    ]
    scripts = {
        (t.authorized, t.tool): wrk_script(work, key if t.authorized else None, t.tool)
        for t in targets
    }
    try:
        for target, app in zip(targets, apps, strict=True):
            target.port = free_port()
            if target.command is DAPHNE:
                bind = ["-b", "127.0.0.1", "-p", str(target.port), app]
            else:
                bind = ["--host", "127.0.0.1", "--port", str(target.port), app]
            process = subprocess.Popen(  # noqa: S603
                [_tool("taskset"), "-c", "0", *target.command, *bind],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
            )
            processes.append(process)
            wait_for(target.port, process)
        for target in targets:  # warm up: imports, caches, connection pools
            url = f"http://127.0.0.1:{target.port}{target.path}"
            run_wrk(url, scripts[target.authorized, target.tool], 1, args.connections)
        for _ in range(args.rounds):
            for target in targets:
                url = f"http://127.0.0.1:{target.port}{target.path}"
                script = scripts[target.authorized, target.tool]
                run = run_wrk(url, script, args.seconds, args.connections)
                target.runs.append(run)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    report(targets, args, redis=bool(env["REDIS_URL"]))


def report(targets: list[Target], args: argparse.Namespace, *, redis: bool) -> None:
    store = "Redis" if redis else "the database (no redis-server found)"
    print(
        f"tools/call (whoami, 2026-07-28), shared store on {store}, "
        f"server on core 0, wrk on core 1, "
        f"{args.connections} connections, median of {args.rounds} x {args.seconds}s"
    )
    print(f"{'target':<24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    median: dict[str, float] = {}
    for target in targets:
        rps = statistics.median(r["rps"] for r in target.runs)
        p50 = statistics.median(r["p50"] for r in target.runs)
        p99 = statistics.median(r["p99"] for r in target.runs)
        errors = sum(r["errors"] for r in target.runs)
        median[target.name] = rps
        print(f"{target.name:<24}{rps:>10.0f}{p50:>10.2f}{p99:>10.2f}{errors:>10.0f}")
    names = [t.name for t in targets]
    print(
        f"daphne: this server / bare app = {median[names[1]] / median[names[0]]:.2f} "
        "(target >= 0.5)"
    )
    print(
        f"uvicorn: this server / official SDK = {median[names[3]] / median[names[4]]:.2f} "
        "(target >= 3)"
    )
    print(f"uvicorn: this server / bare app = {median[names[3]] / median[names[2]]:.2f}")
    for server, decorated, by_hand in (("daphne", 1, 5), ("uvicorn", 3, 6)):
        ratio = median[names[decorated]] / median[names[by_hand]]
        print(f"{server}: decorator whoami / by-hand whoami = {ratio:.3f} (target >= 0.95)")
    ratio = median[names[7]] / median[names[3]]
    print(f"uvicorn: workspace list_requirements (20 rows, SQLite) / whoami = {ratio:.2f}")


if __name__ == "__main__":
    main()
