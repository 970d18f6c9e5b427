"""wrk, pinned to the load generator's core (1), posting one stateless ``tools/call``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path


def require(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"{name} is needed (Debian: apt-get install {name})")
    return path


def call_body(tool: str) -> str:
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    params = {"name": tool, "arguments": {}, "_meta": meta}
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})


def script(directory: Path, key: str | None, tool: str, label: str = "") -> Path:
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
    path = directory / f"{label or ('auth' if key else 'plain')}-{tool}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run(url: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    command = [
        require("taskset"),
        "-c",
        "1",
        require("wrk"),
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
    done = re.search(r"(\d+) requests in", out)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "errors": float(non2xx.group(1) if non2xx else 0),
        "requests": float(done.group(1) if done else 0),
    }
