"""The conformance tool set's resources, resource templates and prompts."""

import json
from collections.abc import Mapping
from typing import Any

from tools.conformance.common import IMAGE_PNG, accepted, elicit, text
from tools.context import ToolContext
from tools.registry import (
    Prompt,
    PromptArgument,
    Resource,
    ResourceTemplate,
)

# ----- resources -------------------------------------------------------------------------


def _static(uri: str, mime: str, **content: str) -> Any:
    async def read(ctx: ToolContext, requested: str) -> list[dict[str, Any]]:
        return [{"uri": uri, "mimeType": mime, **content}]

    return read


async def read_template(
    ctx: ToolContext, uri: str, variables: Mapping[str, str]
) -> list[dict[str, Any]]:
    ident = variables.get("id", "")
    body = {"id": ident, "templateTest": True, "data": f"Data for ID: {ident}"}
    return [{"uri": uri, "mimeType": "application/json", "text": json.dumps(body)}]


RESOURCES = (
    Resource(
        uri="test://static-text",
        name="static-text",
        title="Static Text Resource",
        description="A static text resource for testing",
        mime_type="text/plain",
        handler=_static(
            "test://static-text",
            "text/plain",
            text="This is the content of the static text resource.",
        ),
    ),
    Resource(
        uri="test://static-binary",
        name="static-binary",
        title="Static Binary Resource",
        description="A static binary resource (image) for testing",
        mime_type="image/png",
        handler=_static("test://static-binary", "image/png", blob=IMAGE_PNG),
    ),
    Resource(
        uri="test://watched-resource",
        name="watched-resource",
        title="Watched Resource",
        description="A resource clients can subscribe to",
        mime_type="text/plain",
        handler=_static("test://watched-resource", "text/plain", text="Watched resource content"),
    ),
)

TEMPLATES = (
    ResourceTemplate(
        uri_template="test://template/{id}/data",
        name="template",
        title="Resource Template",
        description="A resource template with parameter substitution",
        mime_type="application/json",
        handler=read_template,
    ),
)


# ----- prompts ---------------------------------------------------------------------------


async def simple_prompt(ctx: ToolContext, args: Mapping[str, str]) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text("This is a simple prompt for testing.")}]}


async def prompt_with_arguments(ctx: ToolContext, args: Mapping[str, str]) -> dict[str, Any]:
    message = f"Prompt with arguments: arg1='{args.get('arg1', '')}', arg2='{args.get('arg2', '')}'"
    return {"messages": [{"role": "user", "content": text(message)}]}


async def prompt_with_embedded_resource(
    ctx: ToolContext, args: Mapping[str, str]
) -> dict[str, Any]:
    resource = {
        "uri": args.get("resourceUri", "test://example-resource"),
        "mimeType": "text/plain",
        "text": "Embedded resource content for testing.",
    }
    return {
        "messages": [
            {"role": "user", "content": {"type": "resource", "resource": resource}},
            {"role": "user", "content": text("Please process the embedded resource above.")},
        ]
    }


async def prompt_with_image(ctx: ToolContext, args: Mapping[str, str]) -> dict[str, Any]:
    return {
        "messages": [
            {
                "role": "user",
                "content": {"type": "image", "data": IMAGE_PNG, "mimeType": "image/png"},
            },
            {"role": "user", "content": text("Please analyze the image above.")},
        ]
    }


async def input_required_prompt(ctx: ToolContext, args: Mapping[str, str]) -> dict[str, Any]:
    answers = await ctx.request_input(
        {
            "user_context": elicit(
                "What context should the prompt use?", {"context": {"type": "string"}}, ["context"]
            )
        }
    )
    context = accepted(answers["user_context"]).get("context", "")
    return {"messages": [{"role": "user", "content": text(f"Use this context: {context}")}]}


PROMPTS = (
    Prompt(
        name="test_simple_prompt",
        title="Simple Test Prompt",
        description="A simple prompt without arguments",
        handler=simple_prompt,
    ),
    Prompt(
        name="test_prompt_with_arguments",
        title="Prompt With Arguments",
        description="A prompt with required arguments",
        handler=prompt_with_arguments,
        arguments=(
            PromptArgument("arg1", "First test argument", required=True),
            PromptArgument("arg2", "Second test argument", required=True),
        ),
    ),
    Prompt(
        name="test_prompt_with_embedded_resource",
        title="Prompt With Embedded Resource",
        description="A prompt that includes an embedded resource",
        handler=prompt_with_embedded_resource,
        arguments=(PromptArgument("resourceUri", "URI of the resource to embed", required=True),),
    ),
    Prompt(
        name="test_prompt_with_image",
        title="Prompt With Image",
        description="A prompt that includes image content",
        handler=prompt_with_image,
    ),
    Prompt(
        name="test_input_required_result_prompt",
        title="Prompt Needing Input",
        description="A prompt that asks the client for context first",
        handler=input_required_prompt,
    ),
)
