"""/metrics from ``uvicorn --workers 2`` (prometheus-client multiprocess mode): after MCP
calls, an auth failure, a JWKS fetch and a rate-limit refusal, every scrape, whichever worker
answers it, shows each counter moved by exactly what happened, with the right labels."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.interop.instances import ROOT, Cluster, _free_port
from tests.mcpserver.test_metrics import value
from tests.tenants.auth.idp import LoopbackIdP, new_key

TOKEN = secrets.token_urlsafe(24)
MODERN = "2026-07-28"


def post(url: str, bearer: str, method: str, params: dict[str, object]) -> int:
    params = {**params, "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                                  "io.modelcontextprotocol/clientCapabilities": {}}}  # fmt: skip
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "authorization": f"Bearer {bearer}",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
    }
    if "name" in params:
        headers["mcp-name"] = str(params["name"])
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, headers, method="POST")  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def scrape(base: str, **headers: str) -> tuple[int, str]:
    req = urllib.request.Request(f"{base}/metrics", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


@pytest.fixture
def workers(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, Cluster, Path]]:
    tmp = tmp_path
    cluster = Cluster(redis_url=redis_url, tmp_path=tmp, keys=secrets.token_hex(32), size=1)
    multiproc = tmp / "prometheus"
    multiproc.mkdir()
    port = _free_port()
    cluster.env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.interop.instance_settings",
            "MCP_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "MCP_METRICS_TOKEN": TOKEN,
            "MCP_TEST_OVERRIDES": json.dumps({"MCP_SERVER": {"METRICS_FLUSH_INTERVAL": 0.3}}),
        }
    )
    cluster.migrate()
    env = {**cluster.env, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    log = (tmp / "server.log").open("ab")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--port", str(port), "--workers", "2",
         "--lifespan", "off", "--log-level", "warning", "mcpserver.asgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2).close()  # noqa: S310
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail((tmp / "server.log").read_text())
            time.sleep(0.2)
    try:
        yield base, cluster, multiproc
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_counters_move_across_two_workers(workers: tuple[str, Cluster, Path]) -> None:
    base, cluster, multiproc = workers
    idp = LoopbackIdP(keys=[new_key("RS256", "k1")]).start()
    try:
        _run_scenario(base, cluster, multiproc, idp)
    finally:
        idp.stop()


def _run_scenario(base: str, cluster: Cluster, multiproc: Path, idp: LoopbackIdP) -> None:
    cluster.manage("create_tenant", "metered", "--name", "Metered", "--toolsets", "builtin")
    key = cluster.manage("create_api_key", "metered", "--name", "m").strip().splitlines()[-1]
    cluster.manage("add_identity_provider", "metered", "--issuer", idp.issuer,
                   "--jwks-uri", idp.jwks_uri, "--allow-private")  # fmt: skip
    url = f"{base}/mcp/metered"
    status, before = scrape(base, authorization=f"Bearer {TOKEN}")
    assert status == 200

    with ThreadPoolExecutor(4) as pool:  # separate connections: both workers serve some
        codes = list(
            pool.map(lambda _: post(url, key, "tools/call", {"name": "whoami"}), range(12))
        )
    assert codes == [200] * 12
    assert post(url, f"mcpk_{secrets.token_urlsafe(32)}", "tools/list", {}) == 401
    token = idp.token(idp.keys[0], audience=url)
    assert post(url, token, "tools/list", {}) == 200  # its keys fetched from the provider
    cluster.manage("set_rate_limit", "metered", "--credential", "1/min")
    codes = []
    deadline = time.monotonic() + 15
    while 429 not in codes and time.monotonic() < deadline:
        codes.append(post(url, key, "tools/list", {}))
    assert 429 in codes
    refused = codes.count(429)

    def moved(text: str, name: str, **labels: str) -> float:
        return value(text, name, **labels) - value(before, name, **labels)

    call = {"tenant": "metered", "era": "stateless", "method": "tools/call", "tool": "whoami"}
    expected = {
        ("mcp_requests_total", (("outcome", "ok"), *call.items())): 12,
        ("mcp_request_duration_seconds_count", (("method", "tools/call"), ("tool", "whoami"))): 12,
        ("mcp_authentications_total", (("tenant", "metered"), ("result", "invalid_token"))): 1,
        (
            "mcp_authentications_total",
            (("tenant", "metered"), ("path", "jwt"), ("result", "ok")),
        ): 1,
        ("mcp_ratelimit_refusals_total", (("tenant", "metered"), ("scope", "credential"))): refused,
        ("mcp_requests_total", (("tenant", "metered"), ("outcome", "rate_limited"))): refused,
        ("mcp_jwks_fetches_total", ()): 1,
        ("mcp_ratelimit_decisions_total", (("decision", "refused"),)): refused,
    }
    deadline = time.monotonic() + 15
    while True:  # the process-local counters reach the files within the flush interval
        texts = [scrape(base, authorization=f"Bearer {TOKEN}")[1] for _ in range(4)]
        wrong = {
            name: [moved(text, name, **dict(labels)) for text in texts]
            for (name, labels), want in expected.items()
            if any(moved(text, name, **dict(labels)) != want for text in texts)
        }
        if not wrong or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert not wrong, wrong
    assert re.search(
        r'mcp_jwks_last_fetch_timestamp_seconds\{issuer="[^"]+"\} 1\.\d+e\+09', texts[0]
    )
    assert key not in texts[0] and "user-1" not in texts[0]
    # Two worker processes wrote their values (one file per process and kind).
    assert (
        len(
            {
                name.rsplit("_", 1)[1]
                for name in os.listdir(multiproc)
                if name.startswith("counter_")
            }
        )
        >= 2
    )
    # The guard: a caller that is not loopback (forwarded by a proxy) needs the token.
    assert scrape(base, **{"x-forwarded-for": "203.0.113.7"})[0] == 403
    assert (
        scrape(base, **{"x-forwarded-for": "203.0.113.7", "authorization": f"Bearer {TOKEN}"})[0]
        == 200
    )
