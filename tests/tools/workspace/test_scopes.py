"""workspace:read for reads, workspace:write for writes; a key without scopes gets neither.

A refusal is HTTP 403 with an insufficient_scope challenge naming the scope, in both eras,
and nothing is written.
"""

from collections.abc import Callable
from typing import Any

import pytest

from tenants.models import Tenant
from tests.mcpserver.conftest import Endpoint
from tools.workspace.models import Requirement

pytestmark = pytest.mark.django_db(transaction=True)

WRITE_CALL = {"name": "create_requirement", "arguments": {"title": "Refused"}}


@pytest.fixture
def keyed(
    make_tenant: Callable[..., Tenant], make_api_key: Callable[..., Any]
) -> Callable[[list[str]], Endpoint]:
    tenant = make_tenant("scoped", toolsets=["builtin", "workspace"])

    def endpoint(scopes: list[str]) -> Endpoint:
        _key, raw = make_api_key(tenant, name="-".join(scopes) or "none", scopes=scopes)
        return Endpoint(slug=tenant.slug, key=raw)

    return endpoint


def _refused(response: Any, scope: str) -> None:
    assert response.status == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and scope in challenge


@pytest.mark.parametrize(
    ("scopes", "call", "needed"),
    [
        (["workspace:read"], WRITE_CALL, "workspace:write"),
        ([], WRITE_CALL, "workspace:write"),
        ([], {"name": "list_requirements", "arguments": {}}, "workspace:read"),
        (["workspace:write"], {"name": "list_tasks", "arguments": {}}, "workspace:read"),
    ],
)
def test_a_tool_without_its_scope_is_403_in_both_eras(
    keyed: Callable[[list[str]], Endpoint], scopes: list[str], call: dict[str, Any], needed: str
) -> None:
    endpoint = keyed(scopes)
    _refused(endpoint.modern("tools/call", call), needed)
    session = endpoint.initialize()
    _refused(endpoint.legacy(session, "tools/call", call), needed)
    assert not Requirement.objects.exists()


def test_the_resource_and_the_prompt_need_read(keyed: Callable[[list[str]], Endpoint]) -> None:
    endpoint = keyed(["workspace:write"])
    uri = "workspace://requirements/req_aaaaaaaaaaaa"
    _refused(endpoint.modern("resources/read", {"uri": uri}), "workspace:read")
    prompt = {"name": "plan_requirement", "arguments": {"requirement_id": "req_aaaaaaaaaaaa"}}
    _refused(endpoint.modern("prompts/get", prompt), "workspace:read")


def test_read_and_write_scopes_together_can_write(keyed: Callable[[list[str]], Endpoint]) -> None:
    endpoint = keyed(["workspace:read", "workspace:write"])
    answer = endpoint.modern("tools/call", WRITE_CALL)
    assert answer.status == 200
    assert answer.message()["result"]["structuredContent"]["title"] == "Refused"
    assert Requirement.objects.get().title == "Refused"
