"""Reads within one tenant: filters, order, bounded pages and cursors bound to their listing."""

from collections.abc import Callable
from typing import Any

import pytest

from tenants.models import Tenant
from tools.workspace import selectors
from tools.workspace.models import Requirement
from tools.workspace.services import requirement_repositories

pytestmark = pytest.mark.django_db


def test_filters_and_priority_order_stay_inside_the_tenant(
    make_tenant: Callable[..., Tenant], make_requirement: Callable[..., Requirement]
) -> None:
    mine, theirs = make_tenant("mine"), make_tenant("theirs")
    make_requirement(mine, title="Low one", priority="low", repositories=["acme/api"])
    make_requirement(mine, title="Urgent one", priority="urgent", owner="bob")
    make_requirement(theirs, title="Urgent elsewhere", priority="urgent", repositories=["acme/api"])
    listed = selectors.requirement_list(tenant_id=mine.pk, sort="-priority").items
    assert [r.title for r in listed] == ["Urgent one", "Low one"]
    by_repo = selectors.requirement_list(tenant_id=mine.pk, repository="acme/api").items
    assert [r.title for r in by_repo] == ["Low one"]
    assert [r.title for r in selectors.requirement_list(tenant_id=mine.pk, owner="bob").items] == [
        "Urgent one"
    ]
    assert [
        r.title for r in selectors.requirement_list(tenant_id=mine.pk, text="URGENT").items
    ] == ["Urgent one"]


def test_limits_are_bounded_and_cursors_refuse_other_listings(
    tenant: Tenant, make_requirement: Callable[..., Requirement]
) -> None:
    for n in range(3):
        make_requirement(tenant, title=f"R{n}")
    huge = selectors.requirement_list(tenant_id=tenant.pk, limit=10_000)
    assert len(huge.items) == 3 and huge.next_cursor is None
    first = selectors.requirement_list(tenant_id=tenant.pk, limit=2, sort="title")
    assert first.next_cursor
    rest = selectors.requirement_list(
        tenant_id=tenant.pk, limit=2, sort="title", cursor=first.next_cursor
    )
    assert [r.title for r in first.items + rest.items] == ["R0", "R1", "R2"]
    for cursor, sort in ((first.next_cursor, "-title"), ("not-a-cursor", "title")):
        with pytest.raises(selectors.BadCursor):
            selectors.requirement_list(tenant_id=tenant.pk, sort=sort, cursor=cursor)


def test_a_page_and_its_repositories_are_two_queries_whatever_its_length(
    tenant: Tenant,
    make_requirement: Callable[..., Requirement],
    django_assert_num_queries: Callable[..., Any],
) -> None:
    made = [
        make_requirement(tenant, title=f"R{n}", repositories=[f"acme/r{n}", "acme/api"][: n % 3])
        for n in range(6)
    ]
    with django_assert_num_queries(2):
        page = selectors.requirement_list(tenant_id=tenant.pk, sort="title")
        names = selectors.repositories_of([r.pk for r in page.items])
    # The same names, in the same order, as each requirement read on its own.
    assert names == {r.pk: requirement_repositories(r) for r in made}
    assert names[made[0].pk] == [] and len(names[made[2].pk]) == 2
