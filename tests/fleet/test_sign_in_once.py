"""A 2026-07-28 client authenticates once and is then served by whichever instance nginx
picks: 1,000 calls with an API key and 1,000 with a JWT, no 401 among them, and the identity
provider's keys fetched at most once per instance."""

from __future__ import annotations

from collections import Counter

from tests.fleet.client import Load, call_tool, summary, tool_result
from tests.fleet.harness import SIZE, Fleet
from tests.tenants.auth.idp import LoopbackIdP

CALLS = 1000
CLIENTS = 4


def _thousand_calls(fleet: Fleet, credential: str) -> list:
    load = Load(
        lambda http: call_tool(http, fleet.url, credential, "whoami"),
        clients=CLIENTS,
        per_client=CALLS // CLIENTS,
    )
    answers = load.start().join(timeout=180)
    print(f"\n{summary(answers)}")
    assert len(answers) == CALLS
    assert [a.status for a in answers if a.status != 200] == [], summary(answers)
    served = Counter(fleet.port_index(a.upstream) for a in answers)
    # Round robin: every instance answered about a third of the calls.
    assert set(served) == set(range(SIZE)) and min(served.values()) > CALLS // (2 * SIZE), served
    return answers


def test_an_api_key_signs_in_once_for_a_thousand_calls(fleet: Fleet) -> None:
    answers = _thousand_calls(fleet, fleet.credentials["pair"].raw)
    whoami = tool_result(answers[-1])["structuredContent"]
    assert whoami["auth_method"] == "api_key" and whoami["tenant"] == "pair"


def test_a_jwt_is_validated_at_most_once_per_instance(fleet: Fleet, idp: LoopbackIdP) -> None:
    before = Counter(idp.hits)
    token = idp.token(idp.keys[0], audience=fleet.url, sub="fleet-user")
    answers = _thousand_calls(fleet, token)
    whoami = tool_result(answers[-1])["structuredContent"]
    assert whoami == {**whoami, "auth_method": "jwt", "subject": "fleet-user"}
    fetched = Counter(idp.hits) - before
    print(f"identity provider requests during the run: {dict(fetched)}")
    # From cold, each instance may fetch discovery and keys once; none fetches them again.
    assert fetched["/jwks"] <= SIZE
    assert fetched["/.well-known/openid-configuration"] <= SIZE
