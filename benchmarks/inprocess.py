"""Microseconds per ``tools/call`` with no HTTP server: the ASGI application called directly.

    python -m benchmarks.inprocess [--requests 3000] [--rounds 5] [--redis URL]
        [--rate-limit N/PERIOD] [--profile FILE]

On a throwaway SQLite database (the embedded store, so no Redis is needed; a warm request is
served from the process tier either way) with one tenant and one API key, it sends 2026-07-28
``tools/call`` requests through ``mcpserver.asgi:application`` and prints the best round of
each: ``whoami`` (written with tools.authoring) and ``whoami_by_hand`` (the same tool as a
hand-built ``Tool``), then ``echo`` and ``echo_by_hand`` (with arguments; see
``benchmarks/tools.py``), interleaved round by round, with the ratio of each pair. It isolates
what the project's code costs per request from what an HTTP server adds; pin it to one core
(``taskset -c 0``) and compare against another checkout run the same way, back to back.

``--redis URL`` puts the shared store (and so each call's audit append) on that Redis, the
production shape; ``--rate-limit`` keeps a per-credential limit in force (one set far above
the load, so the check runs on every request and never refuses); ``--profile FILE`` writes a
cProfile of one extra round of ``whoami`` to FILE (read it with ``python -m pstats``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _environment(directory: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "inprocess-benchmark-" + os.urandom(16).hex(),
        "MCP_ENCRYPTION_KEYS": os.urandom(32).hex(),
        "DATABASE_URL": f"sqlite:///{directory}/bench.sqlite3",
        "REDIS_URL": redis_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }


def _prepare(env: dict[str, str], rate_limit: str) -> str:
    def manage(*args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
            text=True, check=True,
        )  # fmt: skip
        return done.stdout

    manage("migrate", "--noinput", "-v", "0")
    toolsets = "builtin,bench,bench-by-hand"
    manage("create_tenant", "bench", "--name", "Bench", "--toolsets", toolsets)
    # Serving is measured, not refusing: the default per-credential limit would turn most of
    # the load into 429s (its own cost is in the README, "Rate limits").
    manage("set_rate_limit", "bench", "--credential", rate_limit)
    return manage("create_api_key", "bench", "--name", "bench").strip().splitlines()[-1]


# (decorator tool, hand-written tool, arguments): each pair does the same work.
PAIRS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("whoami", "whoami_by_hand", {}),
    ("echo", "echo_by_hand", {"text": "hello", "times": 2}),
)


def _request(key: str, name: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {
                "name": name,
                "arguments": arguments,
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        }
    ).encode()
    headers = {
        "host": "127.0.0.1",
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "authorization": f"Bearer {key}",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": name,
        "content-length": str(len(body)),
    }
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/mcp/bench",
        "raw_path": b"/mcp/bench",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    return scope, body


async def _measure(
    application: Any, scope: dict[str, Any], body: bytes, n: int
) -> tuple[float, float]:
    """Wall-clock and CPU microseconds per request (CPU: the whole process, its background
    threads included, and unaffected by other processes sharing the core)."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    status: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        await application(dict(scope), receive, send)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if set(status) != {200}:
        raise SystemExit(f"the benchmark request was refused: {sorted(set(status))}")
    return elapsed / n * 1e6, cpu / n * 1e6


async def _profile(application: Any, scope: dict[str, Any], body: bytes, n: int, out: str) -> None:
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    await _measure(application, scope, body, n)
    profiler.disable()
    profiler.dump_stats(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis", default="", help="REDIS_URL of a throwaway Redis")
    parser.add_argument("--rate-limit", default="off", help="the credential's limit")
    parser.add_argument("--profile", default="", help="write a cProfile of whoami here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        env = _environment(directory, args.redis)
        key = _prepare(env, args.rate_limit)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        from mcpserver.asgi import application

        requests = {
            name: _request(key, name, arguments)
            for pair in PAIRS
            for name, arguments in ((pair[0], pair[2]), (pair[1], pair[2]))
        }

        async def run() -> dict[str, list[tuple[float, float]]]:
            rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in requests}
            for scope, body in requests.values():  # warm the caches
                await _measure(application, scope, body, 1000)
            for _ in range(args.rounds):
                for name, (scope, body) in requests.items():
                    rounds[name].append(await _measure(application, scope, body, args.requests))
            if args.profile:
                await _profile(application, *requests["whoami"], args.requests, args.profile)
            return rounds

        rounds = asyncio.run(run())
    print(f"tools/call in process, best of {args.rounds} x {args.requests} (us/request):")
    best = {name: min(wall for wall, _cpu in values) for name, values in rounds.items()}
    cpu = {name: min(cpu for _wall, cpu in values) for name, values in rounds.items()}
    for name, values in rounds.items():
        walls = ", ".join(f"{wall:.1f}" for wall, _cpu in values)
        print(f"  {name:<16}{best[name]:>8.1f}  cpu {cpu[name]:>7.1f}   (all: {walls})")
    for decorated, by_hand, _arguments in PAIRS:
        ratio = best[decorated] / best[by_hand]
        print(f"  {decorated} / {by_hand} = {ratio:.3f} (target <= 1.05)")


if __name__ == "__main__":
    main()
