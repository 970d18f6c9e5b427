"""With debug off and the documented deployment steps (migrate, collectstatic), every admin
page answers 200: each list, each add page, each object's page and the custom pages."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import ProductionServer, sign_in

pytestmark = pytest.mark.own_database

SEED = """
from tenants import services
from tenants.audit import Actor
from tools.workspace import services as workspace
actor = Actor.system('test')
tenant = services.tenant_create(slug='pages', name='Pages', toolsets=['builtin', 'workspace'],
                                actor=actor)
services.identity_provider_create(tenant=tenant, issuer='https://login.pages.test',
                                  jwks_uri='https://login.pages.test/jwks', actor=actor)
services.api_key_create(tenant=tenant, name='k', actor=actor)
req = workspace.requirement_create(tenant_id=tenant.pk, title='R', created_by='t', actor=actor)
workspace.task_create(tenant_id=tenant.pk, requirement_id=req.public_id, title='T',
                      created_by='t', actor=actor)
"""


class _Pages:
    """GETs in the signed-in browser context (its cookies are Secure: debug is off)."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base

    def get(self, path: str) -> Any:
        answer = self.page.request.get(self.base + path, max_redirects=0)
        answer.status_code, answer.text = answer.status, answer.text()
        return answer


def test_every_admin_page_answers_200_with_debug_off(
    page: Any, production_server: ProductionServer
) -> None:
    production_server.shell(SEED)
    sign_in(page, production_server)
    client = _Pages(page, production_server.url)
    index = client.get("/admin/")
    assert index.status_code == 200
    lists = sorted(set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/)"', index.text)))
    assert "/admin/tenants/tenant/" in lists and "/admin/workspace/requirement/" in lists
    visited = ["/admin/"]
    for url in lists:
        listing = client.get(url)
        assert listing.status_code == 200, (url, listing.status_code)
        visited.append(url)
        if f'href="{url}add/"' in listing.text:  # the list offers an add page
            add = client.get(url + "add/")
            assert add.status_code == 200, (url + "add/", add.status_code)
            visited.append(url + "add/")
        first = re.search(rf'href="({re.escape(url)}[^/"]+/change/)', listing.text)
        if first:
            change = client.get(first[1])
            assert change.status_code == 200, (first[1], change.status_code)
            visited.append(first[1])
            for extra in sorted(
                set(re.findall(rf"href=[\"']({re.escape(url)}\d+/[a-z-]+/)[\"']", change.text))
            ):
                answer = client.get(extra)
                assert answer.status_code == 200, (extra, answer.status_code)
                visited.append(extra)
    # Every model's list, add and object page, and the tenant's usage page among them.
    assert any(v.endswith("/usage/") for v in visited), visited
    assert len(visited) >= 20, visited
    # Static assets come from the hashed manifest.
    css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]+\.css)"', index.text)
    assert css and client.get(css[1]).status_code == 200
