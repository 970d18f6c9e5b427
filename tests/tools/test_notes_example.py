"""The example tool set (examples/notes_toolset.py), enabled for a tenant and used through the
real ASGI application in both protocol eras."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from jsonschema import Draft202012Validator

from tests.mcpserver.conftest import Endpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def notes_endpoint(
    make_tenant: Callable[..., Any], make_api_key: Callable[..., Any]
) -> Iterator[Endpoint]:
    tenant = make_tenant("notebook", toolsets=["builtin", "notes"])
    cache.delete(f"notes:{tenant.pk}")
    _key, raw = make_api_key(tenant)
    yield Endpoint(slug=tenant.slug, key=raw)
    cache.delete(f"notes:{tenant.pk}")


def test_the_tenant_lists_the_decorator_tools(notes_endpoint: Endpoint) -> None:
    tools = notes_endpoint.modern("tools/list").json()["result"]["tools"]
    by_name = {tool["name"]: tool for tool in tools}
    assert [tool["name"] for tool in tools] == ["whoami", "add_note", "list_notes"]
    add = by_name["add_note"]
    assert add["description"].startswith("Adds a note for everyone in the caller's tenant")
    assert add["inputSchema"]["required"] == ["text"]
    assert add["inputSchema"]["properties"]["text"]["maxLength"] == 500
    assert add["annotations"]["readOnlyHint"] is False
    assert by_name["list_notes"]["outputSchema"]["required"] == ["result"]


def test_notes_are_added_and_listed_with_structured_content(notes_endpoint: Endpoint) -> None:
    tools = {t["name"]: t for t in notes_endpoint.modern("tools/list").json()["result"]["tools"]}
    first = notes_endpoint.modern("tools/call", {"name": "add_note", "arguments": {"text": "Hi"}})
    assert first.status == 200
    assert first.json()["result"]["structuredContent"] == {"number": 1, "text": "Hi"}
    session = notes_endpoint.initialize()
    params = {"name": "add_note", "arguments": {"text": "Again"}}
    assert notes_endpoint.legacy(session, "tools/call", params).json()["result"][
        "structuredContent"
    ] == {"number": 2, "text": "Again"}
    listed = notes_endpoint.modern("tools/call", {"name": "list_notes"}).json()["result"]
    assert listed["structuredContent"] == {
        "result": [{"number": 1, "text": "Hi"}, {"number": 2, "text": "Again"}]
    }
    assert json.loads(listed["content"][0]["text"]) == listed["structuredContent"]
    Draft202012Validator(tools["list_notes"]["outputSchema"]).validate(listed["structuredContent"])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"text": 5}, "Invalid params: argument 'text': Input should be a valid string"),
        ({}, "Invalid params: argument 'text': Field required"),
        ({"text": "x" * 501},
         "Invalid params: argument 'text': String should have at most 500 characters"),
        ({"text": "x", "pinned": True},
         "Invalid params: argument 'pinned': Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_bad_arguments_are_32602_naming_the_field_in_both_eras(
    notes_endpoint: Endpoint, arguments: dict[str, Any], message: str
) -> None:
    params = {"name": "add_note", "arguments": arguments}
    modern = notes_endpoint.modern("tools/call", params)
    assert modern.status == 400
    assert modern.json()["error"] == {"code": -32602, "message": message}
    session = notes_endpoint.initialize()
    legacy = notes_endpoint.legacy(session, "tools/call", params).json()
    assert legacy["error"] == {"code": -32602, "message": message}
    listed = notes_endpoint.modern("tools/call", {"name": "list_notes"}).json()["result"]
    assert listed["structuredContent"] == {"result": []}  # nothing half-written


def test_notes_stay_with_their_tenant_and_the_set_with_tenants_that_enable_it(
    notes_endpoint: Endpoint, make_tenant: Callable[..., Any], make_api_key: Callable[..., Any]
) -> None:
    notes_endpoint.modern("tools/call", {"name": "add_note", "arguments": {"text": "Secret"}})
    endpoints = []
    for slug, toolsets in (("elsewhere", ["notes"]), ("plain", ["builtin"])):
        tenant = make_tenant(slug, toolsets=toolsets)
        cache.delete(f"notes:{tenant.pk}")
        endpoints.append(Endpoint(slug=slug, key=make_api_key(tenant)[1]))
    elsewhere, plain = endpoints
    listed = elsewhere.modern("tools/call", {"name": "list_notes"}).json()["result"]
    assert listed["structuredContent"] == {"result": []}
    response = plain.modern("tools/call", {"name": "list_notes"})
    assert response.json()["error"] == {"code": -32602, "message": "Unknown tool: list_notes"}


def test_the_readme_shows_the_example_as_it_is() -> None:
    from django.conf import settings

    root = Path(settings.BASE_DIR)
    code = (root / "examples" / "notes_toolset.py").read_text().split('"""\n\n', 1)[1]
    assert len(code.splitlines()) < 30
    assert code in (root / "README.md").read_text()
