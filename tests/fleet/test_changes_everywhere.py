"""A revoked key and a suspended tenant are refused by every instance within one second."""

from __future__ import annotations

import httpx2

from tests.fleet.client import call_tool
from tests.fleet.harness import SIZE, Fleet
from tests.fleet.services import seen_after

WITHIN = 1.0


def _statuses(fleet: Fleet, raw: str, slug: str) -> set[int]:
    with httpx2.Client(timeout=5) as http:
        return {
            call_tool(http, fleet.instance_url(index, slug), raw, "whoami").status
            for index in range(SIZE)
        }


CHANGE = """
from tenants import services
from tenants.audit import Actor
from tenants.models import ApiKey, Tenant
actor = Actor.system("fleet")
{change}
"""


def _after(fleet: Fleet, change: str, raw: str, slug: str, refused: int) -> float:
    """Seconds from the change's commit until every instance answers ``refused``."""
    assert refused not in _statuses(fleet, raw, slug)  # the answer before, cached everywhere
    primed = fleet.primed(CHANGE.format(change=change))
    _out, err = primed.communicate(input="\n", timeout=60)
    assert primed.returncode == 0, err
    return seen_after(lambda: _statuses(fleet, raw, slug) == {refused}, timeout=5,
                      what="refused by every instance")  # fmt: skip


def test_a_suspension_reaches_every_instance_within_a_second(fleet: Fleet) -> None:
    raw = fleet.credentials["idle"].raw
    took = _after(fleet, "services.tenant_suspend(tenant=Tenant.objects.get(slug='idle'), "
                  "actor=actor)", raw, "idle", 404)  # fmt: skip
    print(f"\nsuspended: refused everywhere {took:.2f} s after the commit returned")
    assert took < WITHIN
    _after(fleet, "services.tenant_reactivate(tenant=Tenant.objects.get(slug='idle'), "
           "actor=actor)", raw, "idle", 200)  # fmt: skip


def test_a_revocation_reaches_every_instance_within_a_second(fleet: Fleet) -> None:
    raw = fleet.cluster.manage("create_api_key", "pair", "--name", "short").strip().split()[-1]
    key_id = fleet.query(
        "import json; from tenants.models import ApiKey; "
        "print(json.dumps(ApiKey.objects.get(name='short').public_id))"
    )
    took = _after(fleet, f"services.api_key_revoke(key=ApiKey.objects.get(public_id={key_id!r}), "
                  "actor=actor)", raw, "pair", 401)  # fmt: skip
    print(f"\nrevoked: refused everywhere {took:.2f} s after the commit returned")
    assert took < WITHIN
