"""This checkout's server against another checkout's, side by side on one core, interleaved.

    python -m benchmarks.ab OTHER_CHECKOUT [--rounds 4] [--seconds 4] [--tool whoami]

Both servers run under uvicorn with the production flags of ``make bench``, pinned to core 0,
on one throwaway SQLite database and one throwaway Redis (prepared by this checkout: the other
must read the same schema), with the same keys; ``wrk`` on core 1 takes turns between them
round by round. It prints each server's CPU time per request (its own, read from /proc, which
other processes on the core barely move) and req/s, medians, and their ratio. Two servers of
the same code came out up to 5% apart over three rounds: a smaller change needs more rounds, or
several runs. The other checkout is typically ``git worktree add /tmp/before HEAD`` with the
virtual environment and the collected static files of this one beside it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from benchmarks import cpu, servers, wrk
from tests import ports


def _start(checkout: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = ports.free_port()
    command = [*servers.UVICORN, "--lifespan", "off", "--host", "127.0.0.1", "--port", str(port)]
    overrides = json.dumps(servers.PRODUCTION)
    process = subprocess.Popen(  # noqa: S603
        [wrk.require("taskset"), "-c", "0", *command, "mcpserver.asgi:application"],
        cwd=checkout,
        env={**env, "MCP_BENCH_OVERRIDES": overrides},
        stdout=subprocess.DEVNULL,
    )
    servers.wait_for(port, process)
    return process, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the checkout to compare against")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--tool", default="whoami")
    args = parser.parse_args()
    from tests.tenants.auth.idp import LoopbackIdP, new_key

    checkouts = {"this": servers.ROOT, "other": args.other.resolve()}
    work = Path(tempfile.mkdtemp(prefix="mcp-ab-"))
    env = servers.environment(f"sqlite:///{work}/db.sqlite3")
    idp = LoopbackIdP(keys=[new_key("ES256", "bench-1")]).start()
    redis = servers.start_redis(work, env)
    running: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in checkouts}
    try:
        script = wrk.script(work, servers.prepare(env, idp.issuer), args.tool, label="key")
        for name, checkout in checkouts.items():
            running[name] = _start(checkout, env)
        for _process, port in running.values():  # warm up
            wrk.run(f"http://127.0.0.1:{port}/mcp/bench", script, 2, args.connections)
        for _ in range(args.rounds):
            for name, (process, port) in running.items():
                before = cpu.cpu_seconds(process.pid)
                run = wrk.run(
                    f"http://127.0.0.1:{port}/mcp/bench", script, args.seconds, args.connections
                )
                if run["errors"]:
                    raise SystemExit(f"{name}: {run['errors']:.0f} requests were not answered 2xx")
                spent = cpu.cpu_seconds(process.pid) - before
                runs[name].append((spent / max(run["requests"], 1) * 1e6, run["rps"]))
    finally:
        for process, _port in running.values():
            process.terminate()
            process.wait(timeout=10)
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=10)
        idp.stop()
        shutil.rmtree(work, ignore_errors=True)
    medians = {}
    for name, figures in runs.items():
        medians[name] = statistics.median(us for us, _rps in figures)
        each = ", ".join(f"{us:.0f}" for us, _rps in figures)
        rps = statistics.median(rps for _us, rps in figures)
        line = f"{name:<6} {checkouts[name]}: cpu {medians[name]:.1f} us a call ({each})"
        print(f"{line}, {rps:.0f} req/s")
    print(f"this / other, CPU a call: {medians['this'] / medians['other']:.3f}")


if __name__ == "__main__":
    main()
