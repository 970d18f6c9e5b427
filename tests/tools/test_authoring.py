"""The typed tool-author API: what a decorated function becomes, and how calls reach it."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from mcpserver.eras import Era
from mcpserver.errors import InvalidParams, ResourceNotFound
from mcpserver.protocol.methods import validate_arguments
from tenants.catalogue import toolset_names
from tenants.models import Tenant
from tenants.principal import AuthMethod, Principal
from tenants.validators import validate_toolsets
from tools.apps import toolset_module
from tools.authoring import Toolset, register_module
from tools.context import ToolContext
from tools.registry import _TOOLSETS, Tool, all_toolsets

PRINCIPAL = Principal(
    tenant_id=1, tenant_slug="acme", subject="alice", auth_method=AuthMethod.API_KEY,
    fingerprint="f" * 64, scopes=frozenset({"workspace:write"}),
)  # fmt: skip


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Requirement(BaseModel):
    title: str
    priority: Priority
    repositories: list[str]
    asked_by: str


class Point(TypedDict):
    x: int
    y: int


@dataclasses.dataclass
class Size:
    width: int
    height: int


workspace = Toolset("typed-test", description="Requirements", instructions="Plan first.")


@workspace.tool(scopes=["workspace:write"], title="Create a requirement", read_only=False)
async def create_requirement(
    title: Annotated[str, Field(description="Short title", max_length=200)],
    ctx: ToolContext,
    priority: Priority = Priority.MEDIUM,
    repositories: list[str] | None = None,
) -> Requirement:
    """Creates a requirement.

    Only the first paragraph is the description."""
    return Requirement(
        title=title,
        priority=priority,
        repositories=repositories or [],
        asked_by=ctx.principal.subject,
    )


@workspace.tool
def count_tenants(who: Principal) -> dict[str, int]:
    """Counts tenants through the ORM, from a sync function."""
    return {"tenants": Tenant.objects.count(), "asker": who.tenant_id}


@workspace.tool(name="corner")
async def corner_point(schema: int = 0) -> Point:
    """A TypedDict result; the argument's name shadows a pydantic attribute."""
    return {"x": schema, "y": schema}


@workspace.tool
async def sizes(n: int) -> list[Size]:
    """A list result, wrapped as {"result": ...}."""
    return [Size(width=i, height=i) for i in range(n)]


@workspace.tool
async def greet(name: str) -> str:
    """Text only, no output schema."""
    return f"Hello, {name}"


@workspace.tool
async def forget(name: str) -> None:
    """Nothing to say."""


@workspace.resource("typed://requirements/{number}", title="A requirement")
async def requirement(number: int, ctx: ToolContext) -> Requirement:
    return Requirement(title=f"#{number}", priority=Priority.HIGH, repositories=[], asked_by="x")


@workspace.resource("typed://logo", mime_type="image/png")
def logo() -> bytes:
    return b"\x89PNG"


@workspace.prompt(title="Break a requirement into tasks", scopes=["workspace:read"])
async def plan_tasks(
    ctx: ToolContext, requirement_id: Annotated[str, Field(description="Which one")]
) -> str:
    """Asks for a plan."""
    return f"Plan {requirement_id} for {ctx.principal.subject}"


@workspace.prompt
def review(topic: str = "all") -> list[Any]:
    """Two messages."""
    return [f"Review {topic}", {"role": "assistant", "content": {"type": "text", "text": "OK"}}]


BUILT = workspace.build()
TOOLS = {tool.name: tool for tool in BUILT.tools}


def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    tool = TOOLS[name]
    ctx = ToolContext(principal=PRINCIPAL, era=Era.STATELESS)
    return async_to_sync(tool.handler)(ctx, validate_arguments(tool, arguments))


def test_the_tool_is_described_from_its_signature_and_docstring() -> None:
    wire = TOOLS["create_requirement"].describe()
    assert wire["description"] == "Creates a requirement."
    assert wire["title"] == "Create a requirement"
    assert wire["annotations"] == {"readOnlyHint": False}
    schema = wire["inputSchema"]
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert list(schema["properties"]) == ["title", "priority", "repositories"]  # no ctx
    assert schema["required"] == ["title"]
    assert schema["properties"]["title"]["maxLength"] == 200
    assert schema["properties"]["title"]["description"] == "Short title"
    assert schema["$defs"]["Priority"]["enum"] == ["low", "medium", "high"]
    assert schema["properties"]["priority"]["default"] == "medium"
    assert TOOLS["create_requirement"].required_scopes == frozenset({"workspace:write"})


def test_a_call_gets_validated_values_defaults_and_the_context() -> None:
    result = call("create_requirement", {"title": "Login", "priority": "high"})
    expected = {"title": "Login", "priority": "high", "repositories": [], "asked_by": "alice"}
    assert result["structuredContent"] == expected
    assert [block["type"] for block in result["content"]] == ["text"]
    assert json.loads(result["content"][0]["text"]) == expected
    output = TOOLS["create_requirement"].describe()["outputSchema"]
    Draft202012Validator(output).validate(result["structuredContent"])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"title": "x", "priority": "urgent"},
         "Invalid params: argument 'priority': Input should be 'low', 'medium' or 'high'"),
        ({}, "Invalid params: argument 'title': Field required"),
        ({"title": "x" * 201},
         "Invalid params: argument 'title': String should have at most 200 characters"),
        ({"title": "x", "owner": "bob"},
         "Invalid params: argument 'owner': Extra inputs are not permitted"),
        ({"title": "x", "repositories": ["a", 5]},
         "Invalid params: argument 'repositories/1': Input should be a valid string"),
    ],
)  # fmt: skip
def test_bad_arguments_are_invalid_params_naming_the_field(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidParams) as raised:
        call("create_requirement", arguments)
    assert raised.value.message == message
    assert raised.value.jsonrpc_code == -32602


def test_a_handler_called_directly_still_validates() -> None:
    ctx = ToolContext(principal=PRINCIPAL, era=Era.STATELESS)
    result = async_to_sync(TOOLS["create_requirement"].handler)(ctx, {"title": "Direct"})
    assert result["structuredContent"]["priority"] == "medium"
    with pytest.raises(InvalidParams):
        async_to_sync(TOOLS["create_requirement"].handler)(ctx, {"title": 5})


@pytest.mark.django_db(transaction=True)  # the handler's ORM work shares this connection
def test_a_sync_tool_runs_orm_queries_in_the_request_transaction(
    make_tenant: Any,
) -> None:
    make_tenant("one")
    make_tenant("two")
    assert call("count_tenants", {})["structuredContent"] == {"tenants": 2, "asker": 1}


def test_result_shapes_follow_the_return_annotation() -> None:
    corner = call("corner", {"schema": 3})
    assert corner["structuredContent"] == {"x": 3, "y": 3}
    assert TOOLS["corner"].describe()["inputSchema"]["properties"]["schema"]["type"] == "integer"
    sizes_result = call("sizes", {"n": 2})
    assert sizes_result["structuredContent"] == {
        "result": [{"width": 0, "height": 0}, {"width": 1, "height": 1}]
    }
    wrapped = TOOLS["sizes"].describe()["outputSchema"]
    assert wrapped["type"] == "object" and wrapped["required"] == ["result"]
    Draft202012Validator(wrapped).validate(sizes_result["structuredContent"])
    assert call("greet", {"name": "Ada"}) == {"content": [{"type": "text", "text": "Hello, Ada"}]}
    assert "outputSchema" not in TOOLS["greet"].describe()
    assert call("forget", {"name": "x"}) == {"content": []}


@pytest.mark.django_db  # logo() is sync: it runs where the ORM may be used
def test_resources_templates_and_prompts() -> None:
    ctx = ToolContext(principal=PRINCIPAL, era=Era.STATELESS)
    template = BUILT.templates[0]
    assert template.describe() == {
        "uriTemplate": "typed://requirements/{number}", "name": "requirement",
        "title": "A requirement",
    }  # fmt: skip
    contents = async_to_sync(template.handler)(ctx, "typed://requirements/7", {"number": "7"})
    assert contents[0]["mimeType"] == "application/json"
    assert '"title":"#7"' in contents[0]["text"]
    with pytest.raises(ResourceNotFound):
        async_to_sync(template.handler)(ctx, "typed://requirements/x", {"number": "x"})
    blob = async_to_sync(BUILT.resources[0].handler)(ctx, "typed://logo")
    assert blob == [{"uri": "typed://logo", "mimeType": "image/png", "blob": "iVBORw=="}]
    plan, second = BUILT.prompts
    assert plan.describe()["arguments"] == [
        {"name": "requirement_id", "description": "Which one", "required": True}
    ]
    assert plan.required_scopes == frozenset({"workspace:read"})
    got = async_to_sync(plan.handler)(ctx, {"requirement_id": "R-1"})
    assert got["messages"] == [
        {"role": "user", "content": {"type": "text", "text": "Plan R-1 for alice"}}
    ]
    assert [m["role"] for m in async_to_sync(second.handler)(ctx, {})["messages"]] == [
        "user",
        "assistant",
    ]
    with pytest.raises(InvalidParams, match="argument 'extra': Extra inputs"):
        async_to_sync(second.handler)(ctx, {"topic": "x", "extra": "y"})


def test_the_built_set_carries_description_and_instructions() -> None:
    assert (BUILT.name, BUILT.description, BUILT.instructions) == (
        "typed-test", "Requirements", "Plan first."
    )  # fmt: skip
    assert BUILT.internal is False
    assert workspace.build() is BUILT
    with pytest.raises(RuntimeError, match="registered already"):
        workspace.tool(lambda: None)


def _fresh() -> Toolset:
    return Toolset("broken")


async def _undocumented(x: int) -> int:
    return x


async def _star(*args: int) -> int:
    """Has a docstring."""
    return 0


class OldStyle(typing.TypedDict):
    x: int


async def _typing_typed_dict() -> OldStyle:
    """Returns a typing.TypedDict, which pydantic refuses before Python 3.12."""
    return {"x": 1}


@pytest.mark.parametrize(
    ("decorate", "error"),
    [
        (lambda ts: ts.tool(_undocumented), "needs a description"),
        (lambda ts: ts.tool(_star), "must be a named parameter"),
        (lambda ts: ts.tool(scopes="workspace:write")(greet), "not one string"),
        (lambda ts: ts.tool(name="bad name!")(_star), "a tool name is"),
        (lambda ts: ts.tool(bogus=True)(_star), "unknown option"),
        (lambda ts: ts.resource("x://{id}")(_undocumented), "placeholders"),
        (lambda ts: ts.prompt(_undocumented), "needs a description"),
        (lambda ts: ts.tool(_typing_typed_dict), "return annotation: .*typing_extensions"),
    ],
)
def test_mistakes_fail_at_decoration_naming_the_tool(decorate: Any, error: str) -> None:
    with pytest.raises((TypeError, ValueError), match=error) as raised:
        decorate(_fresh())
    assert "'broken'" in str(raised.value)


def test_a_name_used_twice_in_one_set_is_refused() -> None:
    toolset = _fresh()
    toolset.tool(name="one")(greet)
    with pytest.raises(ValueError, match="'one' twice"):
        toolset.tool(name="one")(greet)


@pytest.fixture
def registered() -> Iterator[None]:
    yield
    _TOOLSETS.pop("typed-test", None)


def test_a_module_is_registered_by_the_toolsets_it_holds(registered: None) -> None:
    module = types.ModuleType("myco.tools")
    module.workspace = workspace  # type: ignore[attr-defined]
    module.alias = workspace  # type: ignore[attr-defined]
    assert register_module(module) == [BUILT]
    assert all_toolsets()["typed-test"] is BUILT
    assert "typed-test" in toolset_names()
    validate_toolsets(["builtin", "typed-test"])


def test_tenants_enable_sets_by_their_names_not_their_modules() -> None:
    assert toolset_module("builtin") == "tools.builtin"
    assert toolset_module("examples.notes_toolset") == "examples.notes_toolset"
    validate_toolsets(["builtin", "notes"])
    with pytest.raises(ValidationError) as raised:
        validate_toolsets(["examples.notes_toolset"])
    assert "Available: builtin, conformance, workspace, notes" in raised.value.messages[0]


def test_whoami_is_a_decorator_tool_with_the_same_wire_shape() -> None:
    whoami: Tool = all_toolsets()["builtin"].tools[0]
    assert whoami.parse_arguments is not None
    wire = whoami.describe()
    assert wire["inputSchema"] == {
        "type": "object",
        "additionalProperties": False,
        "properties": {},
    }
    assert wire["outputSchema"]["required"] == ["tenant", "subject", "scopes", "auth_method"]
    assert wire["outputSchema"]["properties"]["auth_method"]["enum"] == ["api_key", "jwt"]
    assert wire["annotations"] == {
        "readOnlyHint": True, "idempotentHint": True, "openWorldHint": False,
    }  # fmt: skip
