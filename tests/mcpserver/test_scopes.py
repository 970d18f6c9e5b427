"""A tool's required scopes: refused with 403 insufficient_scope naming them, in both eras."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from tenants.models import AuditLog
from tests.mcpserver.conftest import Endpoint
from tools.registry import _TOOLSETS, Tool, ToolSet, catalogue_for, register

pytestmark = pytest.mark.django_db(transaction=True)


async def _secret(ctx: Any, args: Any) -> dict:
    return {"content": [{"type": "text", "text": "the secret"}]}


@pytest.fixture
def scoped_endpoint(
    make_tenant: Callable[..., Any], make_api_key: Callable[..., Any]
) -> Iterator[Callable[[list[str]], Endpoint]]:
    register(
        ToolSet(
            name="scoped-test",
            tools=(
                Tool(
                    name="read_secret",
                    description="Reads a secret; needs two scopes.",
                    handler=_secret,
                    required_scopes=frozenset({"secrets:read", "audit:write"}),
                ),
            ),
        )
    )
    toolsets = [*settings.MCP_SERVER.get("TOOLSETS", ["builtin", "conformance"]), "scoped-test"]
    with override_settings(MCP_SERVER={**settings.MCP_SERVER, "TOOLSETS": toolsets}):
        tenant = make_tenant("scoped", toolsets=["builtin", "scoped-test"])

        def endpoint_with(scopes: list[str]) -> Endpoint:
            _key, raw = make_api_key(tenant, name="-".join(scopes) or "none", scopes=scopes)
            return Endpoint(slug=tenant.slug, key=raw)

        yield endpoint_with
    _TOOLSETS.pop("scoped-test", None)
    catalogue_for.cache_clear()


def test_missing_scopes_are_403_with_a_challenge(scoped_endpoint: Any) -> None:
    endpoint = scoped_endpoint(["secrets:read"])
    response = endpoint.modern("tools/call", {"name": "read_secret"})
    assert response.status == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert "audit:write" in challenge and "secrets:read" in challenge
    session = endpoint.initialize()
    legacy = endpoint.legacy(session, "tools/call", {"name": "read_secret"})
    assert legacy.status == 403
    assert 'error="insufficient_scope"' in legacy.headers["www-authenticate"]
    refusals = _audited_refusals(expected=2)
    assert [r.details["missing"] for r in refusals] == [["audit:write"], ["audit:write"]]


def _audited_refusals(*, expected: int) -> list[AuditLog]:
    """Refusals are audited off the request path: wait (bounded) for the rows to appear."""
    deadline = time.monotonic() + 5
    while True:
        rows = list(AuditLog.objects.filter(action="auth.insufficient_scope").order_by("id"))
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_all_scopes_present_runs_the_tool(scoped_endpoint: Any) -> None:
    endpoint = scoped_endpoint(["secrets:read", "audit:write"])
    result = endpoint.modern("tools/call", {"name": "read_secret"}).json()["result"]
    assert result["content"][0]["text"] == "the secret"
