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
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from benchmarks import cpu, mcp_http, servers, wrk


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
    running: dict[str, mcp_http.Target] = {}
    processes: list[subprocess.Popen[bytes]] = []
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in checkouts}
    try:
        script = wrk.script(work, servers.prepare(env, idp.issuer), args.tool, label="key")
        for name, checkout in checkouts.items():
            target = mcp_http.Target(name, [*servers.UVICORN, "--lifespan", "off"], "/mcp/bench")
            processes.append(mcp_http.start(target, env, cwd=checkout))
            running[name] = target
        for target in running.values():  # warm up
            wrk.run(f"http://127.0.0.1:{target.port}/mcp/bench", script, 2, args.connections)
        for _ in range(args.rounds):
            for name, target in running.items():

                def load(
                    url: str = f"http://127.0.0.1:{target.port}/mcp/bench", name: str = name
                ) -> dict[str, float]:
                    run = wrk.run(url, script, args.seconds, args.connections)
                    if run["errors"]:
                        raise SystemExit(f"{name}: {run['errors']:.0f} requests not answered 2xx")
                    return run

                runs[name].append(cpu.measured([target.pid], load))
    finally:
        servers.stop_all(processes)
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
