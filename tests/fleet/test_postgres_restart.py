"""PostgreSQL restarted under load: every instance's /readyz goes 503 naming the database and
comes back; a credential validated before keeps working from Redis; a call that needs the
database fails cleanly (JSON, no stack trace) and works again without a server restart; the
audit hash chain is whole afterwards."""

from __future__ import annotations

import time

import httpx2

from tests.fleet.client import Answer, Load, call_tool, summary
from tests.fleet.harness import SIZE, Fleet
from tests.fleet.services import wait_for

DOWN = 3.0
# How soon after PostgreSQL is back every instance is ready and the database calls succeed.
BACK_WITHIN = 10.0


def _ready(fleet: Fleet) -> set[int]:
    with httpx2.Client(timeout=5) as http:
        return {
            http.get(fleet.instance_url(index).replace("/mcp/pair", "/readyz")).status_code
            for index in range(SIZE)
        }


def _clean(answer: Answer) -> bool:
    """A failure a client can act on: JSON, no traceback, no internals."""
    return (
        answer.status in (200, 503)
        and answer.body.startswith("{")
        and "Traceback" not in answer.body
        and "psycopg" not in answer.body
    )


def _failed(answer: Answer) -> bool:
    data = answer.json()
    return "error" in data or bool(data["result"].get("isError"))


def test_a_postgres_restart_is_ridden_out(healthy: Fleet) -> None:
    fleet, key = healthy, healthy.credentials["pair"].raw
    with httpx2.Client(timeout=10) as http:  # validated on every instance before the outage
        for index in range(SIZE):
            assert call_tool(http, fleet.instance_url(index), key, "whoami").status == 200
    cached = Load(lambda http: call_tool(http, fleet.url, key, "whoami"), clients=2, pause=0.02)
    reads = Load(
        lambda http: call_tool(http, fleet.url, key, "list_requirements", {}), clients=2, pause=0.05
    )
    for load in (cached, reads):
        load.start()
    time.sleep(0.5)
    fleet.pg.stop()
    stopped_at = time.monotonic()
    try:
        wait_for(lambda: _ready(fleet) == {503}, timeout=10, what="/readyz 503 everywhere")
        with httpx2.Client(timeout=5) as http:
            ready = http.get(fleet.instance_url(0).replace("/mcp/pair", "/readyz"))
        assert "database" in ready.json()["failing"], ready.text
        time.sleep(max(0.0, DOWN - (time.monotonic() - stopped_at)))
    finally:
        starting_at = time.monotonic()
        fleet.pg.start()
    started_at = time.monotonic()
    back = wait_for(lambda: _ready(fleet) == {200}, timeout=BACK_WITHIN, what="/readyz 200")
    time.sleep(1.0)
    whoami, lists = cached.stop(), reads.stop()
    print(f"\nwhoami: {summary(whoami)}\nlist_requirements: {summary(lists)}")
    print(f"ready everywhere {back:.2f} s after PostgreSQL started")

    assert {a.status for a in whoami} == {200}, (
        summary(whoami),
        [(round(a.started - stopped_at, 2), a.body[:300]) for a in whoami if a.status != 200][:3],
    )  # served from Redis
    assert all(_clean(a) for a in lists), [a.body[:300] for a in lists if not _clean(a)]
    during = [a for a in lists if stopped_at + 0.5 < a.started < starting_at]
    served = [a for a in during if a.status == 200 and not _failed(a)]
    print(
        f"database calls while it was down: {len(during)}, answered anyway: {len(served)}; "
        f"statuses {sorted({a.status for a in during})}"
    )
    assert during and not served, [(a.started - stopped_at, a.body[:300]) for a in served]
    after = [a for a in lists if a.started > started_at + back]
    assert after and all(a.status == 200 and "result" in a.json() for a in after)
    assert not any(a.json()["result"].get("isError") for a in after)
    out = fleet.cluster.manage("verify_audit", "pair", check=False)
    assert out.startswith("0\n"), out
