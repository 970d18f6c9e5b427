"""The table ``make bench`` prints: every row's median, then each target ratio beside its goal."""

from __future__ import annotations

import argparse
import statistics
from typing import Any

# (label, numerator row, denominator row, goal): req/s ratios, all taken in the same run.
RATIOS = [
    ("daphne: this server / minimal Channels consumer", "daphne  this server",
     "daphne  Channels consumer", 0.95),
    ("daphne: this server / SDK under uvicorn h11", "daphne  this server", "uvicorn SDK h11", 1.5),
    ("uvicorn httptools: this server / SDK, same uvicorn", "uvicorn this server",
     "uvicorn SDK httptools", 4.0),
    ("uvicorn httptools: this server / bare ASGI app", "uvicorn this server",
     "uvicorn bare ASGI app", 0.4),
    ("uvicorn httptools: this server draining in process (the image's default) / bare app",
     "uvicorn drain in process", "uvicorn bare ASGI app", None),
    ("uvicorn: decorator whoami / by-hand whoami", "uvicorn this server",
     "uvicorn by-hand tool", 0.95),
    ("daphne: decorator whoami / by-hand whoami", "daphne  this server",
     "daphne  by-hand tool", 0.95),
    ("uvicorn: JWT from the process tier / API key", "uvicorn JWT process",
     "uvicorn this server", None),
    ("uvicorn: JWT from Redis / API key", "uvicorn JWT Redis", "uvicorn this server", None),
    ("uvicorn: JWT fully validated / API key", "uvicorn JWT validated", "uvicorn this server",
     None),
    ("uvicorn: workspace list_requirements (20 rows, {database}) / whoami",
     "uvicorn list_requirements", "uvicorn this server", None),
]  # fmt: skip


def _verdict(value: float, goal: float | None, *, at_most: bool = False) -> str:
    if goal is None:
        return ""
    held = value <= goal if at_most else value >= goal
    return f"(target {'<=' if at_most else '>='} {goal:g}: {'met' if held else 'NOT MET'})"


def print_report(
    rows: list[Any],
    args: argparse.Namespace,
    *,
    redis: bool,
    jwks: int,
    cpu: dict[str, float],
    database: str,
    principal_bytes: dict[str, int],
) -> None:
    store = "Redis" if redis else "the database (no redis-server found)"
    print(
        f"tools/call (2026-07-28) on {database}, shared store on {store}, audit drained by a "
        f"process of its own unless named, server on core 0, "
        f"wrk, Redis and the database on core 1, "
        f"{args.connections} connections unless named, median of {args.rounds} x {args.seconds}s"
    )
    print(f"{'target':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}{'cpu us':>10}")
    rps: dict[str, float] = {}
    p99: dict[str, float] = {}
    for row in rows:
        rps[row.name] = statistics.median(r["rps"] for r in row.runs)
        p50 = statistics.median(r["p50"] for r in row.runs)
        p99[row.name] = statistics.median(r["p99"] for r in row.runs)
        errors = sum(r["errors"] for r in row.runs)
        cpu_us = statistics.median(r.get("cpu_us", 0.0) for r in row.runs)
        print(f"{row.name:<28}{rps[row.name]:>10.0f}{p50:>10.2f}{p99[row.name]:>10.2f}"
              f"{errors:>10.0f}{cpu_us:>10.0f}")  # fmt: skip
    for label, top, bottom, goal in RATIOS:
        ratio = rps[top] / rps[bottom]
        label = label.format(database=database)
        print(f"{label} = {ratio:.2f} {_verdict(ratio, goal)}".rstrip())
    c8 = p99["uvicorn this server c8"]
    print(f"uvicorn: p99 at 8 connections = {c8:.2f} ms {_verdict(c8, 10.0, at_most=True)}")
    app_us = 1e6 / rps["uvicorn this server"] - 1e6 / rps["uvicorn bare ASGI app"]
    print(f"uvicorn: application time per cached tools/call = {app_us:.0f} us (about 50 us)")
    print(f"JWKS fetches during the timed rounds: {jwks}")
    if principal_bytes:
        sizes = ", ".join(f"{label} {size} bytes" for label, size in principal_bytes.items())
        print(f"Redis bytes per cached principal (its entry, MEMORY USAGE): {sizes}")
    if cpu:
        ratio = cpu["three"] / cpu["one"]
        print(
            f"server CPU per 1,000 requests behind nginx: one instance {cpu['one']:.0f} ms "
            f"({cpu['one_rps']:.0f} req/s; nginx itself {cpu['nginx_one']:.0f} ms), three "
            f"{cpu['three']:.0f} ms ({cpu['three_rps']:.0f} req/s; "
            f"nginx {cpu['nginx_three']:.0f} ms)"
        )
        print(f"three / one = {ratio:.2f} {_verdict(ratio, 1.1, at_most=True)}")
    if cpu.get("bare_one"):
        print(
            f"the same two layouts serving the bare ASGI app (what the layout itself costs): "
            f"one {cpu['bare_one']:.0f} ms, three {cpu['bare_three']:.0f} ms, three / one = "
            f"{cpu['bare_three'] / cpu['bare_one']:.2f}"
        )
    if cpu.get("drained"):
        print(
            f"drainer (drain_audit, a process of its own) CPU per 1,000 records: "
            f"{cpu['drain']:.0f} ms ({cpu['drained']:.0f} records moved after the rounds)"
        )
