"""Online key rotation under load: the new encryption key added on one instance, then the
rest, then put first the same way, then ``rotate_encryption_key``: no request fails and a
legacy session started before the rotation is still served after it."""

from __future__ import annotations

import secrets

import httpx2

from tests.fleet.client import Load, call_tool, summary
from tests.fleet.harness import Fleet
from tests.fleet.sse import open_session


def _roll(fleet: Fleet, keys: str) -> None:
    """One instance first, then the other two together, each taken out of nginx's rotation
    before it is stopped (as a deployment drains it): one always serves."""
    for group in ({0}, {1, 2}):
        fleet.nginx.drain(group)
        for index in group:
            fleet.cluster.stop(index)
            fleet.cluster.launch(index, keys=keys)
        for index in group:
            fleet.cluster.wait_ready(index)
        fleet.nginx.drain(set(), settle=0.2)


def _ping(http: httpx2.Client, fleet: Fleet, session: dict[str, str]) -> int:
    answer = http.post(fleet.url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                       headers=session)  # fmt: skip
    return answer.status_code


def test_an_online_key_rotation_fails_no_request(healthy: Fleet) -> None:
    fleet, key = healthy, healthy.credentials["pair"].raw
    old, new = fleet.keys, secrets.token_hex(32)
    with httpx2.Client(timeout=10) as http:
        session = open_session(http, fleet.url, key)
    load = Load(lambda http: call_tool(http, fleet.url, key, "whoami"), clients=2, pause=0.02,
                keep_alive=False)  # fmt: skip
    with load:
        _roll(fleet, f"{old},{new}")  # step 1: every instance can decrypt with the new key
        _roll(fleet, f"{new},{old}")  # step 2: the new key encrypts
        out = fleet.cluster.manage("rotate_encryption_key", keys=f"{new},{old}")
    answers = load.answers
    print(f"\nduring the rotation: {summary(answers)}\n{out.strip().splitlines()[-1]}")
    assert answers and {a.status for a in answers} == {200}, summary(answers)
    with httpx2.Client(timeout=10) as http:
        assert {_ping(http, fleet, session) for _ in range(3)} == {200}
    fleet.keys_changed(f"{new},{old}")
