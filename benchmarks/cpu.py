"""Server CPU time per 1,000 requests: one instance behind nginx against three behind nginx
(round robin), every server pinned to core 0 and nginx to core 1 beside wrk, Redis and the
database, as the rest of ``make bench`` places what would run on machines of its own (a
balancer on the servers' core would take turns with them and blur what is measured).

CPU time is read from ``/proc/<pid>/stat`` (user + system) before and after each wrk run; the
two layouts take turns, round by round, and the ratio of their medians is the cost of
spreading the same load over more processes.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import wrk

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def measured(pids: list[int], run: Callable[[], dict[str, float]]) -> tuple[float, float]:
    """The servers' CPU per 1,000 requests of ``run()`` in ms (per request in us: the same
    number), and its req/s."""
    before = sum(cpu_seconds(pid) for pid in pids)
    result = run()
    spent = sum(cpu_seconds(pid) for pid in pids) - before
    return spent * 1e6 / max(result["requests"], 1.0), result["rps"]  # ms per 1,000


def _balancer(work: Path, ports: list[int]) -> tuple[Any, list[int]]:
    from tests.fleet.services import Nginx

    nginx = Nginx(Path(tempfile.mkdtemp(dir=work)), ports)
    nginx.start()
    if nginx.process is None:
        raise SystemExit("nginx did not start")
    pids = [nginx.process.pid, *_children(nginx.process.pid)]
    for each in pids:
        os.sched_setaffinity(each, {1})
    return nginx, pids


def per_thousand(
    *,
    env: dict[str, str],
    work: Path,
    script: Path,
    seconds: int,
    connections: int,
    rounds: int,
    start: Callable[[Any, dict[str, str]], Any],
    target: Callable[[], Any],
    processes: list[Any],
) -> dict[str, float]:
    """{"one": ms, "three": ms, "nginx_one": ms, "nginx_three": ms, "one_rps": ..,
    "three_rps": ..} per 1,000, medians of ``rounds`` interleaved rounds.

    Like is compared with like: the one instance is behind an nginx of its own, configured and
    placed as the three's, so both figures carry the same proxy (its upstream connections, its
    headers); what differs is only the number of instances sharing the load.
    """
    single, *fleet = [target() for _ in range(4)]  # all four fresh, started alike
    for instance in (single, *fleet):
        processes.append(start(instance, env))
    alone, alone_pids = _balancer(work, [single.port])
    spread, spread_pids = _balancer(work, [t.port for t in fleet])
    layouts = {
        "one": (f"http://127.0.0.1:{alone.port}/mcp/bench", [single.pid], alone_pids),
        "three": (f"http://127.0.0.1:{spread.port}/mcp/bench", [t.pid for t in fleet], spread_pids),
    }
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in layouts}
    try:
        for url, _servers, _proxy in layouts.values():
            wrk.run(url, script, 1, connections)  # warm up every instance and upstream pool
        for _ in range(rounds):
            for name, (url, servers, proxy) in layouts.items():

                def load(url: str = url) -> dict[str, float]:
                    return wrk.run(url, script, seconds, connections)

                before = sum(cpu_seconds(p) for p in proxy)
                ms, rps = measured(servers, load)
                proxy_ms = (sum(cpu_seconds(p) for p in proxy) - before) * 1e6 / (rps * seconds)
                figures[name].append((ms, rps, proxy_ms))
    finally:
        alone.stop()
        spread.stop()
    result: dict[str, float] = {}
    for name, runs in figures.items():
        result[name] = statistics.median(ms for ms, _rps, _proxy in runs)
        result[f"{name}_rps"] = statistics.median(rps for _ms, rps, _proxy in runs)
        result[f"nginx_{name}"] = statistics.median(proxy for _ms, _rps, proxy in runs)
    return result


def _drain_once(env: dict[str, str]) -> tuple[float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    taskset = shutil.which("taskset") or "taskset"
    done = subprocess.run(  # noqa: S603
        [taskset, "-c", "0", sys.executable, "manage.py", "drain_audit"],
        cwd=Path(__file__).resolve().parent.parent, env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    spent = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    moved = re.search(r"Moved (\d+) records", done.stdout)
    return spent, int(moved.group(1)) if moved else 0


def drain_cost(env: dict[str, str]) -> dict[str, float]:
    """What the manifests' drainer (a process of its own) spends moving the records the
    servers left in the stream, on core 0: ``drain_audit`` once over the backlog, then once
    over an empty stream (its start-up, subtracted). {"drain": ms per 1,000, "drained": n}."""
    spent, moved = _drain_once(env)
    idle, _ = _drain_once(env)
    return {"drain": max(spent - idle, 0.0) * 1e6 / max(moved, 1), "drained": float(moved)}
