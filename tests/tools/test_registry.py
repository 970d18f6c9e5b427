"""One walk over the whole registry: every tool, resource and prompt is well described."""

import inspect
from importlib import import_module

import pytest
from jsonschema import Draft202012Validator

from mcpserver.conf import mcp_settings
from tenants.catalogue import toolset_names
from tools.apps import toolset_module
from tools.authoring import Toolset
from tools.registry import TOOL_NAME_RE, Tool, ToolSet, all_toolsets, catalogue_for

TOOLS = [(s.name, t) for s in all_toolsets().values() for t in s.tools]


def test_every_configured_module_registered_its_toolsets() -> None:
    for entry in mcp_settings.TOOLSETS:
        module = import_module(toolset_module(entry))
        held = [v for v in vars(module).values() if isinstance(v, Toolset | ToolSet)]
        assert held, entry
        for toolset in held:
            built = toolset.build() if isinstance(toolset, Toolset) else toolset
            assert all_toolsets()[built.name] is built
    assert set(toolset_names()) == set(all_toolsets())


def test_the_walk_covers_decorator_tools() -> None:
    decorated = {t.name for _s, t in TOOLS if t.parse_arguments is not None}
    assert {"whoami", "add_note", "list_notes"} <= decorated


@pytest.mark.parametrize(("toolset", "tool"), TOOLS, ids=[f"{s}.{t.name}" for s, t in TOOLS])
def test_tool_is_well_described(toolset: str, tool: Tool) -> None:
    assert TOOL_NAME_RE.match(tool.name)
    assert len(tool.description) >= 10
    assert tool.description[0].isupper()
    assert inspect.iscoroutinefunction(tool.handler)
    schema = tool.describe()["inputSchema"]
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert isinstance(schema.get("properties", {}), dict)
    assert set(schema.get("required", [])) <= set(schema.get("properties", {}))
    if tool.output_schema is not None:
        Draft202012Validator.check_schema(tool.describe()["outputSchema"])
        assert tool.describe()["outputSchema"]["type"] == "object"
    assert isinstance(tool.required_scopes, frozenset)
    with pytest.raises(AttributeError):
        tool.name = "changed"  # type: ignore[misc]


def test_names_are_unique_within_each_set() -> None:
    for toolset in all_toolsets().values():
        for items, key in (
            (toolset.tools, "name"),
            (toolset.prompts, "name"),
            (toolset.resources, "uri"),
        ):
            names = [getattr(item, key) for item in items]
            assert len(names) == len(set(names)), toolset.name


def test_resources_and_prompts_are_described() -> None:
    for toolset in all_toolsets().values():
        for resource in toolset.resources:
            assert resource.describe()["uri"] == resource.uri
            assert inspect.iscoroutinefunction(resource.handler)
        for prompt in toolset.prompts:
            assert prompt.description
            assert inspect.iscoroutinefunction(prompt.handler)


def test_catalogue_order_follows_the_tenant_list_and_skips_unknown_sets() -> None:
    both = catalogue_for(("builtin", "conformance", "no-such-set"))
    assert both.tools[0].name == "whoami"
    assert catalogue_for(("conformance", "builtin")).tools[-1].name == "whoami"
    assert catalogue_for(()).tools == ()


def test_the_conformance_fixture_has_the_names_the_suite_expects() -> None:
    catalogue = catalogue_for(("conformance",))
    for name in (
        "test_simple_text",
        "test_image_content",
        "test_audio_content",
        "test_embedded_resource",
        "test_multiple_content_types",
        "test_tool_with_logging",
        "test_tool_with_progress",
        "test_error_handling",
        "test_sampling",
        "test_elicitation",
        "json_schema_2020_12_tool",
        "test_input_required_result_elicitation",
    ):
        assert name in catalogue.tools_by_name
    assert {"test://static-text", "test://static-binary", "test://watched-resource"} <= set(
        catalogue.resources_by_uri
    )
    assert catalogue.find_resource("test://template/123/data") is not None
    assert "test_prompt_with_arguments" in catalogue.prompts_by_name


def test_every_set_is_described_and_only_the_fixture_is_internal() -> None:
    for toolset in all_toolsets().values():
        assert len(toolset.description) >= 10, toolset.name
    internal = {name for name, s in all_toolsets().items() if s.internal}
    assert "conformance" in internal and "builtin" not in internal


def test_disabled_tools_leave_the_catalogue_and_each_selection_is_cached() -> None:
    sets = ("builtin", "conformance")
    full = catalogue_for(sets)
    trimmed = catalogue_for(sets, ("test_simple_text", "whoami", "upstream.tool"))
    assert {t.name for t in full.tools} - {t.name for t in trimmed.tools} == {
        "test_simple_text",
        "whoami",
    }
    assert "whoami" not in trimmed.tools_by_name
    # Resources and prompts are not tools: disabling tools leaves them.
    assert trimmed.resources == full.resources and trimmed.prompts == full.prompts
    assert catalogue_for(sets, ("test_simple_text", "whoami", "upstream.tool")) is trimmed
