"""Faults of ours: logged, reported without internals, never a 500."""

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from tests.mcpserver.conftest import Endpoint
from tools.registry import _TOOLSETS, Prompt, Tool, ToolSet, catalogue_for, register

pytestmark = pytest.mark.django_db(transaction=True)


async def _explode(*args: Any) -> dict:
    raise RuntimeError("secret internals: /srv/app/settings.py line 42")


@pytest.fixture
def broken(make_tenant: Callable[..., Any], make_api_key: Callable[..., Any]) -> Iterator[Endpoint]:
    register(
        ToolSet(
            name="broken-test",
            tools=(Tool(name="explode", description="Always fails.", handler=_explode),),
            prompts=(Prompt(name="explode", description="Always fails.", handler=_explode),),
        )
    )
    toolsets = [*settings.MCP_SERVER.get("TOOLSETS", ["builtin", "conformance"]), "broken-test"]
    with override_settings(MCP_SERVER={**settings.MCP_SERVER, "TOOLSETS": toolsets}):
        tenant = make_tenant("broken", toolsets=["broken-test"])
        _key, raw = make_api_key(tenant)
        yield Endpoint(slug=tenant.slug, key=raw)
    _TOOLSETS.pop("broken-test", None)
    catalogue_for.cache_clear()


def test_a_crashing_tool_is_an_error_result_without_internals(broken: Endpoint) -> None:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect()
    logger = logging.getLogger("mcpserver.protocol")
    logger.addHandler(handler)
    try:
        response = broken.modern("tools/call", {"name": "explode"})
    finally:
        logger.removeHandler(handler)
    assert response.status == 200
    result = response.json()["result"]
    assert result["isError"] is True
    assert b"secret internals" not in response.body
    logged = [str(r.exc_info[1]) for r in records if r.exc_info]
    assert logged and "secret internals" in logged[0]  # for the operator


def test_a_crashing_prompt_is_32603_in_a_200(broken: Endpoint) -> None:
    for response in (
        broken.modern("prompts/get", {"name": "explode"}),
        broken.legacy(broken.initialize(), "prompts/get", {"name": "explode"}),
    ):
        assert response.status == 200
        assert response.json()["error"] == {"code": -32603, "message": "Internal error"}
        assert b"secret" not in response.body
