"""Server CPU time per 1,000 requests: one instance against three behind nginx (round robin),
every server process pinned to core 0 and wrk to core 1, as in the rest of ``make bench``.

CPU time is read from ``/proc/<pid>/stat`` (user + system) before and after one wrk run; the
ratio of the two figures is the cost of spreading the same load over more processes.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _measured(pids: list[int], run: Callable[[], dict[str, float]]) -> tuple[float, float]:
    before = sum(cpu_seconds(pid) for pid in pids)
    result = run()
    spent = sum(cpu_seconds(pid) for pid in pids) - before
    return spent * 1e6 / max(result["requests"], 1.0), result["rps"]  # ms per 1,000


def per_thousand(
    *,
    env: dict[str, str],
    work: Path,
    script: Path,
    single: tuple[int, int],
    seconds: int,
    connections: int,
    start: Callable[[Any, dict[str, str]], Any],
    target: Callable[[], Any],
    run_wrk: Callable[..., dict[str, float]],
    processes: list[Any],
) -> dict[str, float]:
    """{"one": ms, "three": ms, "nginx": ms, "one_rps": .., "three_rps": ..} per 1,000."""
    from tests.fleet.harness import Nginx

    port, pid = single
    one, one_rps = _measured(
        [pid], lambda: run_wrk(f"http://127.0.0.1:{port}/mcp/bench", script, seconds, connections)
    )
    fleet = [target() for _ in range(3)]
    for instance in fleet:
        processes.append(start(instance, env))
    nginx = Nginx(Path(tempfile.mkdtemp(dir=work)), [t.port for t in fleet])
    nginx.start()
    if nginx.process is None:
        raise SystemExit("nginx did not start")
    nginx_pids = [nginx.process.pid, *_children(nginx.process.pid)]
    for each in nginx_pids:
        os.sched_setaffinity(each, {0})
    url = f"http://127.0.0.1:{nginx.port}/mcp/bench"
    try:
        run_wrk(url, script, 1, connections)  # warm up every instance
        before_nginx = sum(cpu_seconds(p) for p in nginx_pids)
        three, three_rps = _measured(
            [t.pid for t in fleet], lambda: run_wrk(url, script, seconds, connections)
        )
        requests = three_rps * seconds
        nginx_ms = (sum(cpu_seconds(p) for p in nginx_pids) - before_nginx) * 1e6 / requests
    finally:
        nginx.stop()
    return {"one": one, "three": three, "nginx": nginx_ms, "one_rps": one_rps,
            "three_rps": three_rps}  # fmt: skip


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
