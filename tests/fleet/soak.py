"""The soak run (not part of the suite): the fleet under a steady load for several minutes.

    bin/with-test-services .venv/bin/python -m tests.fleet.soak [--requests 30000] [--rate 100]

Starts the same fleet as the fleet tests (tests/fleet/harness.py), sends ``--requests``
2026-07-28 tools/call requests at ``--rate`` per second through nginx (API-key ``whoami``, JWT
``whoami`` and a workspace read against PostgreSQL, in turn), then reports errors, latency
percentiles, and each process's resident memory and open file descriptors after the warm-up
and at the end. Exits 1 when a request failed or a process grew past the bounds below.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx2

from tests.fleet.client import Answer, call_tool
from tests.fleet.harness import Fleet
from tests.tenants.auth.idp import LoopbackIdP, new_key

# Growth allowed from the end of the warm-up to the end of the run.
RSS_GROWTH_MB = 64
FD_GROWTH = 32


def _usage(pid: int) -> tuple[float, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return rss / 1024, len(list(Path(f"/proc/{pid}/fd").iterdir()))


def _processes(fleet: Fleet) -> dict[str, int]:
    found = {f"instance {i}": fleet.cluster.pid(i) for i in range(3)}
    found["celery worker"] = fleet.worker.pid if fleet.worker else None
    found["nginx"] = fleet.nginx.process.pid if fleet.nginx.process else None
    found["redis"] = fleet.redis.process.pid if fleet.redis.process else None
    return {name: pid for name, pid in found.items() if pid is not None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    idp = LoopbackIdP(keys=[new_key("ES256", "soak-1")]).start()
    fleet = Fleet(Path(tempfile.mkdtemp(prefix="mcp-soak-")), issuer=idp.issuer)
    fleet.start()
    try:
        key = fleet.credentials["pair"].raw
        token = idp.token(idp.keys[0], audience=fleet.url, exp=int(time.time()) + 86_400)
        calls = [(key, "whoami"), (token, "whoami"), (key, "list_requirements")]
        with httpx2.Client(timeout=10) as http:
            for credential, tool in calls * 20:  # warm-up: every instance, every path
                call_tool(http, fleet.url, credential, tool)
        before = {name: _usage(pid) for name, pid in _processes(fleet).items()}
        answers: list[Answer] = []
        started = time.monotonic()
        lock = threading.Lock()
        sent = [0]

        def client() -> None:
            with httpx2.Client(timeout=10) as http:
                while True:
                    with lock:
                        number = sent[0]
                        if number >= args.requests:
                            return
                        sent[0] += 1
                    # A steady rate: request n leaves at n / rate seconds, never earlier.
                    time.sleep(max(0.0, started + number / args.rate - time.monotonic()))
                    credential, tool = calls[number % len(calls)]
                    answers.append(call_tool(http, fleet.url, credential, tool))

        threads = [threading.Thread(target=client, daemon=True) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.requests / args.rate + 120)
        took = time.monotonic() - started
        after = {name: _usage(pid) for name, pid in _processes(fleet).items()}
    finally:
        fleet.stop()
        idp.stop()
    return _report(answers, took, before, after)


Usage = dict[str, tuple[float, int]]


def _report(answers: list[Answer], took: float, before: Usage, after: Usage) -> int:
    failed = [a for a in answers if a.status != 200 or '"isError":true' in a.body]
    ms = sorted(a.took * 1000 for a in answers)
    cuts = statistics.quantiles(ms, n=100)
    print(f"{len(answers)} requests in {took:.0f} s ({len(answers) / took:.0f}/s), "
          f"{len(failed)} failed; latency ms p50 {cuts[49]:.1f} p90 {cuts[89]:.1f} "
          f"p99 {cuts[98]:.1f} max {ms[-1]:.1f}")  # fmt: skip
    grew = False
    for name, (rss, fds) in before.items():
        rss_end, fds_end = after.get(name, (rss, fds))
        over = rss_end - rss > RSS_GROWTH_MB or fds_end - fds > FD_GROWTH
        grew |= over
        print(f"{name:<14} RSS {rss:6.1f} -> {rss_end:6.1f} MB, open fds {fds:4d} -> {fds_end:4d}"
              f"{'  GREW PAST THE BOUND' if over else ''}")  # fmt: skip
    print(f"bounds: RSS +{RSS_GROWTH_MB} MB, fds +{FD_GROWTH}")
    return 1 if failed or grew else 0


if __name__ == "__main__":
    raise SystemExit(main())
