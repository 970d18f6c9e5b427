"""Requests per second and p50/p99 latency of ``tools/call`` over HTTP, beside reference apps.

    python -m benchmarks.mcp_http [--seconds 5] [--rounds 3] [--connections 32]

Starts, on a throwaway PostgreSQL database (``BENCH_POSTGRES_URL``, which ``make bench`` sets
to a server of its own; SQLite in a temporary directory without it) with one tenant, one API
key and a loopback identity provider (for the JWT rows), with the shared store on a throwaway Redis,
every server pinned to one core (``taskset -c 0``) and Redis and PostgreSQL to the other, as
they would be on machines of their own: a bare ASGI app and a minimal Channels consumer under
daphne and the project's application beside them; under uvicorn (uvloop, httptools) the bare
app and the project's application called with an API key (and again without its in-process
audit drainer), with a JWT from the process tier, from Redis (process tier off) and fully validated
(a 2 ms cache TTL, so every request validates), and ``list_requirements`` (a workspace read);
the official SDK's high-level server (formerly FastMCP) under uvicorn with httptools and with
h11; the by-hand ``whoami`` beside the decorated one. ``wrk`` runs on the other core; rows are
interleaved round by round and medians printed with each server's own CPU time per request,
then each ratio beside its target, p99 at 8 connections, JWKS fetches during the timed rounds,
and server CPU time per 1,000 requests with one instance and with three, each layout behind
nginx, interleaved (``benchmarks/cpu.py``), and the same for the bare app (the control). Needs
``wrk``, ``taskset``, nginx for the last figures, and two cores; every figure is noisy on a
shared machine: quote the ratios.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import wrk
from benchmarks.servers import (
    BARE,
    DAPHNE,
    PRODUCTION,
    PUBLIC_URL,
    PY,
    ROOT,
    UVICORN,
    cached_principal_bytes,
    database_url,
    environment,
    prepare,
    start_redis,
    stop_all,
    wait_for,
)  # fmt: skip
from tests import ports


@dataclass
class Target:
    name: str
    command: list[str]
    path: str
    app: str = "mcpserver.asgi:application"
    credential: str | None = "key"  # "key", "jwt" or None (the reference apps)
    tool: str = "whoami"
    # MCP_SERVER keys; by default the manifests' shape: no drain thread in the server.
    overrides: dict[str, object] = field(default_factory=lambda: dict(PRODUCTION))
    # Another Redis database: the row's stream, caches and budgets are its own.
    redis_db: int = 0
    connections: int | None = None  # None: --connections
    # A second row on an earlier target's server (the same process, other wrk settings).
    same_server_as: str = ""
    port: int = 0
    pid: int = 0
    runs: list[dict[str, float]] = field(default_factory=list)


def targets() -> list[Target]:
    uvicorn = [*UVICORN, "--lifespan", "off"]
    h11 = [PY, "-m", "uvicorn", "--loop", "uvloop", "--http", "h11", "--log-level", "warning"]
    sdk = "benchmarks.reference_apps:sdk"
    bare = BARE
    channels = "benchmarks.reference_apps:channels_consumer"
    return [
        Target("daphne  bare ASGI app", DAPHNE, "/", app=bare, credential=None),
        Target("daphne  Channels consumer", DAPHNE, "/", app=channels, credential=None),
        Target("daphne  this server", DAPHNE, "/mcp/bench"),
        Target("uvicorn bare ASGI app", uvicorn, "/", app=bare, credential=None),
        Target("uvicorn this server", uvicorn, "/mcp/bench"),
        # The image's default without the manifests: a drain thread in the serving process,
        # on a Redis database of its own so that it moves only its own records.
        Target("uvicorn drain in process", uvicorn, "/mcp/bench",
               overrides={"AUDIT_DRAIN_IN_PROCESS": True}, redis_db=1),
        Target("uvicorn this server c8", uvicorn, "/mcp/bench", connections=8,
               same_server_as="uvicorn this server"),
        Target("uvicorn JWT process", uvicorn, "/mcp/bench", credential="jwt",
               same_server_as="uvicorn this server"),
        Target("uvicorn JWT Redis", uvicorn, "/mcp/bench", credential="jwt",
               overrides={**PRODUCTION, "STORE_PROCESS_CACHE_TTL": 0.0}),
        Target("uvicorn JWT validated", uvicorn, "/mcp/bench", credential="jwt",
               overrides={**PRODUCTION, "AUTH_CACHE_TTL": 0.002}),
        Target("uvicorn list_requirements", uvicorn, "/mcp/bench", tool="list_requirements",
               same_server_as="uvicorn this server"),
        Target("uvicorn SDK httptools", [*UVICORN, "--lifespan", "on"], "/mcp", app=sdk,
               credential=None),
        Target("uvicorn SDK h11", [*h11, "--lifespan", "on"], "/mcp", app=sdk, credential=None),
        Target("daphne  by-hand tool", DAPHNE, "/mcp/bench", tool="whoami_by_hand",
               same_server_as="daphne  this server"),
        Target("uvicorn by-hand tool", uvicorn, "/mcp/bench", tool="whoami_by_hand",
               same_server_as="uvicorn this server"),
    ]  # fmt: skip


def start(target: Target, env: dict[str, str], *, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    """``target``'s server, from the checkout at ``cwd`` (this one unless named)."""
    target.port = ports.free_port()
    if target.command is DAPHNE:
        bind = ["-b", "127.0.0.1", "-p", str(target.port), target.app]
    else:
        bind = ["--host", "127.0.0.1", "--port", str(target.port), target.app]
    overrides = {"MCP_BENCH_OVERRIDES": json.dumps(target.overrides)}
    if target.redis_db and env.get("REDIS_URL"):
        overrides["REDIS_URL"] = f"{env['REDIS_URL']}?db={target.redis_db}"
    process = subprocess.Popen(  # noqa: S603
        [wrk.require("taskset"), "-c", "0", *target.command, *bind],
        cwd=cwd,
        env={**env, **overrides},
        stdout=subprocess.DEVNULL,
    )
    target.pid = process.pid  # taskset execs the server: the same process
    wait_for(target.port, process)
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        wrk.require(tool)
    from benchmarks import cpu, report
    from tests.tenants.auth.idp import LoopbackIdP, new_key

    work = Path(tempfile.mkdtemp(prefix="mcp-bench-"))
    database, engine = database_url(work)
    env = environment(database)
    idp = LoopbackIdP(keys=[new_key("ES256", "bench-1")]).start()
    redis = start_redis(work, env)
    key = prepare(env, idp.issuer)
    token = idp.token(idp.keys[0], audience=f"{PUBLIC_URL}/mcp/bench", exp=int(time.time()) + 7200)
    credentials = {"key": key, "jwt": token, None: None}
    rows = targets()
    by_name = {t.name: t for t in rows}
    scripts = {
        t.name: wrk.script(work, credentials[t.credential], t.tool, label=str(t.credential))
        for t in rows
    }
    cpu_rows: dict[str, float] = {}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for target in rows:
            if target.same_server_as:
                continue
            processes.append(start(target, env))
        for target in rows:
            if target.same_server_as:
                target.port = by_name[target.same_server_as].port
                target.pid = by_name[target.same_server_as].pid
        jwks_before = idp.jwks_hits
        for target in rows:  # warm up: imports, caches, connection pools
            url = f"http://127.0.0.1:{target.port}{target.path}"
            wrk.run(url, scripts[target.name], 1, target.connections or args.connections)
        for _ in range(args.rounds):
            for target in rows:
                url = f"http://127.0.0.1:{target.port}{target.path}"
                spent = cpu.cpu_seconds(target.pid)
                run = wrk.run(
                    url, scripts[target.name], args.seconds, target.connections or args.connections
                )
                # The server's own CPU per request: unlike req/s, barely moved by other
                # processes taking turns on the core.
                spent = cpu.cpu_seconds(target.pid) - spent
                run["cpu_us"] = spent / max(run["requests"], 1) * 1e6
                target.runs.append(run)
        jwks = idp.jwks_hits - jwks_before
        principal_bytes = cached_principal_bytes(env, {"API key": key, "JWT": token})
        one = by_name["uvicorn this server"]
        uvicorn = [*UVICORN, "--lifespan", "off"]
        fleets = {
            "": lambda: Target("fleet", uvicorn, "/mcp/bench"),
            # The control: the same two layouts serving the bare app, which does no work of
            # its own, so whatever its three cost over its one is the layout's, not ours.
            "bare_": lambda: Target("fleet bare", uvicorn, "/", app=BARE, credential=None),
        }
        for prefix, fleet in fleets.items():
            measured = cpu.per_thousand(
                env=env, work=work, script=scripts[one.name], seconds=args.seconds,
                connections=args.connections, rounds=args.rounds, start=start, target=fleet,
                processes=processes,
            )  # fmt: skip
            cpu_rows.update({prefix + name: value for name, value in measured.items()})
            stop_all(processes)  # the records they left in the stream are all there now
        cpu_rows.update(cpu.drain_cost(env))
    finally:
        stop_all(processes)
        if redis is not None:  # after the servers, which write to it until they stop
            redis.terminate()
            redis.wait(timeout=10)
        idp.stop()
        shutil.rmtree(work, ignore_errors=True)
    report.print_report(
        rows,
        args,
        redis=bool(env["REDIS_URL"]),
        jwks=jwks,
        cpu=cpu_rows,
        database=engine,
        principal_bytes=principal_bytes,
    )


if __name__ == "__main__":
    main()
