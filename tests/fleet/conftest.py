"""One fleet for the whole package: started once, shared by every scenario, each scenario
leaving it whole (``Fleet.heal``) for the next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fleet.harness import Fleet
from tests.tenants.auth.idp import LoopbackIdP, new_key


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/fleet/" in str(item.path):
            # Its own PostgreSQL: run once, not again in the suite's PostgreSQL pass.
            item.add_marker(pytest.mark.fleet)
            item.add_marker(pytest.mark.own_database)


@pytest.fixture(scope="package")
def idp() -> Iterator[LoopbackIdP]:
    server = LoopbackIdP(keys=[new_key("ES256", "fleet-1")]).start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def fleet(idp: LoopbackIdP, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path_factory.mktemp("fleet"), issuer=idp.issuer)
    try:
        fleet.start()
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture
def healthy(fleet: Fleet) -> Iterator[Fleet]:
    """The fleet, mended after the scenario whatever it broke."""
    try:
        yield fleet
    finally:
        fleet.heal()
