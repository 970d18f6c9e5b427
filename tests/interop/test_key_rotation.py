"""Rotating MCP_ENCRYPTION_KEYS across two real instances, one restart at a time, as the
README describes it: no request fails at any step, and the rotation command refuses to run
at a step where it would log users out.

At every point of the walk (after each single restart, so the two instances run on
different key lists) a new legacy session, an old one and a requestState cross from each
instance to the other.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.interop.instances import Cluster
from tests.interop.streams import initialize_body

# Servers on a database of their own: the result does not depend on the suite's database,
# so the PostgreSQL pass skips them (make test runs them once).
pytestmark = pytest.mark.own_database


LEGACY = "2025-11-25"
MODERN = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
}
STATE_TOOL = "test_input_required_result_request_state"

K1, K2 = secrets.token_hex(32), secrets.token_hex(32)


@pytest.fixture
def cluster(redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(redis_url=redis_url, tmp_path=tmp_path, keys=K1)
    cluster.api_key = cluster.setup_tenant()  # type: ignore[attr-defined]
    try:
        cluster.start_all()
        yield cluster
    finally:
        cluster.stop_all()


class Client:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.http = httpx2.Client(timeout=30)
        self.key: str = cluster.api_key  # type: ignore[attr-defined]

    def _headers(self, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.key}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **extra,
        }

    def post(self, index: int, body: dict[str, Any], **headers: str) -> httpx2.Response:
        return self.http.post(self.cluster.urls[index], json=body, headers=self._headers(**headers))

    def initialize(self, index: int) -> str:
        started = self.post(index, initialize_body())
        assert started.status_code == 200, started.text
        session = started.headers["mcp-session-id"]
        done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert self.post(index, done, **self._session(session)).status_code == 202
        return session

    @staticmethod
    def _session(session: str) -> dict[str, str]:
        return {"Mcp-Session-Id": session, "MCP-Protocol-Version": LEGACY}

    def use_session(self, index: int, session: str, where: str) -> None:
        listed = self.post(
            index, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, **self._session(session)
        )
        assert listed.status_code == 200, f"{where}: {listed.status_code} {listed.text}"
        assert "tools" in listed.json()["result"], where

    def request_state_crosses(self, issuer: int, honourer: int, where: str) -> None:
        headers = {
            "MCP-Protocol-Version": MODERN,
            "Mcp-Method": "tools/call",
            "Mcp-Name": STATE_TOOL,
        }
        first = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": STATE_TOOL, "_meta": META},
        }
        asked = self.post(issuer, first, **headers)
        assert asked.status_code == 200, f"{where}: {asked.text}"
        retry = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {
                "name": STATE_TOOL,
                "_meta": META,
                "requestState": asked.json()["result"]["requestState"],
                "inputResponses": {"confirm": {"action": "accept", "content": {"ok": True}}},
            },
        }
        answered = self.post(honourer, retry, **headers).json()
        assert "result" in answered, f"{where}: {answered}"
        assert "state-ok" in answered["result"]["content"][0]["text"], where


def _everything_crosses(client: Client, old_session: str, where: str) -> None:
    for a, b in ((0, 1), (1, 0)):
        label = f"{where}, instance {a} to {b}"
        new_session = client.initialize(a)
        client.use_session(b, new_session, f"{label}: new session")
        client.use_session(a, old_session, f"{label}: old session touched")
        client.use_session(b, old_session, f"{label}: old session")
        client.request_state_crosses(a, b, f"{label}: requestState")


def test_the_documented_rotation_fails_no_request_at_any_step(cluster: Cluster) -> None:
    client = Client(cluster)
    old_session = client.initialize(0)
    _everything_crosses(client, old_session, "before")
    steps = [
        # 1. The new key everywhere, decrypt-only: the old one still encrypts.
        (0, f"{K1},{K2}"),
        (1, f"{K1},{K2}"),
        # 2. The new key first everywhere: it encrypts, the old one still decrypts.
        (0, f"{K2},{K1}"),
        (1, f"{K2},{K1}"),
    ]
    for index, keys in steps:
        cluster.restart(index, keys=keys)
        _everything_crosses(client, old_session, f"instance {index} on {keys[:4]}..")
    # 3. Re-seal what is stored under the new key.
    output = cluster.manage("rotate_encryption_key", keys=f"{K2},{K1}")
    assert "entries_rotated" in output or "entries_current" in output, output
    _everything_crosses(client, old_session, "after rotate_encryption_key")
    # 4. Drop the old key, one instance at a time.
    for index in (0, 1):
        cluster.restart(index, keys=K2)
        _everything_crosses(client, old_session, f"instance {index} on the new key only")
    for index in (0, 1):
        log = cluster.log_of(index)
        assert "out of order" not in log, log
        assert K1 not in log and K2 not in log


def test_rotation_is_refused_while_an_instance_lacks_the_new_key(cluster: Cluster) -> None:
    client = Client(cluster)
    old_session = client.initialize(0)
    # Out of order: instance 0 encrypts with the new key while instance 1 has never seen it.
    cluster.restart(0, keys=f"{K2},{K1}")
    assert "key rotation out of order" in cluster.log_of(0)
    refused = cluster.manage("rotate_encryption_key", keys=f"{K2},{K1}", check=False)
    assert refused.startswith("1\n"), refused
    assert "not rotating, nothing changed" in refused and "cannot decrypt key" in refused
    # Nothing was re-sealed: the instance without the new key still serves the old session.
    client.use_session(1, old_session, "after the refused rotation")
    # Once both hold the new key first, the same command goes ahead.
    cluster.restart(1, keys=f"{K2},{K1}")
    done = cluster.manage("rotate_encryption_key", keys=f"{K2},{K1}")
    assert "entries_rotated" in done, done
    client.use_session(1, old_session, "after the rotation")
    client.use_session(0, old_session, "after the rotation")


def test_rotation_waits_for_every_instance_to_encrypt_with_the_new_key(cluster: Cluster) -> None:
    cluster.restart(0, keys=f"{K1},{K2}")
    cluster.restart(1, keys=f"{K2},{K1}")
    refused = cluster.manage("rotate_encryption_key", keys=f"{K2},{K1}", check=False)
    assert refused.startswith("1\n") and "still encrypts with key" in refused, refused
