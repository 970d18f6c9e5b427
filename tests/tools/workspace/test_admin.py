"""Requirements in Django admin: filtered by tenant, ids read-only, edits audited."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tenants.models import AuditLog, Tenant
from tools.workspace.models import Requirement

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in() -> Client:
    User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.login(username="root", password="pw")
    return client


def test_the_list_filters_by_tenant_and_an_edit_goes_through_the_service(
    admin_client_logged_in: Client,
    make_tenant: Callable[..., Tenant],
    make_requirement: Callable[..., Requirement],
) -> None:
    mine, theirs = make_tenant("mine"), make_tenant("theirs")
    made = make_requirement(mine, title="Mine")
    make_requirement(theirs, title="Theirs")
    page = admin_client_logged_in.get(f"/admin/workspace/requirement/?tenant__id__exact={mine.pk}")
    assert page.status_code == 200
    assert b"Mine" in page.content and b"Theirs" not in page.content
    url = f"/admin/workspace/requirement/{made.pk}/change/"
    form = admin_client_logged_in.get(url)
    assert made.public_id.encode() in form.content and b'name="public_id"' not in form.content
    answer = admin_client_logged_in.post(
        url,
        {
            "title": "Mine, renamed", "description": "", "status": "open", "priority": "high",
            "owner": "", "tasks-TOTAL_FORMS": "0", "tasks-INITIAL_FORMS": "0",
        },
    )  # fmt: skip
    assert answer.status_code == 302, answer.content[:2000]
    made.refresh_from_db()
    assert (made.title, made.status, made.public_id) == ("Mine, renamed", "open", made.public_id)
    record = AuditLog.objects.get(action="requirement.update")
    assert record.actor == "admin:root"
