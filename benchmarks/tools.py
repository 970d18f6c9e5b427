"""Two benchmark tool sets: the same tools written with the decorator and by hand.

``bench-by-hand`` holds ``whoami_by_hand``, ``whoami`` as it was written before
tools.authoring (a hand-built ``Tool``, hand-written schemas, arguments checked by the JSON
Schema walk), and ``echo_by_hand``; ``bench`` holds ``echo`` written with the decorator
(``whoami`` itself is the builtin one). The benchmarks call each pair interleaved.
"""

import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, Field

from tools.authoring import Toolset
from tools.context import ToolContext
from tools.registry import Tool, ToolSet, register

bench = Toolset("bench", description="Benchmark tools written with the decorator")


class Echoed(BaseModel):
    text: str
    times: int


@bench.tool(read_only=True)
async def echo(text: Annotated[str, Field(max_length=200)], times: int = 1) -> Echoed:
    """Echoes the text back, as many times as asked."""
    return Echoed(text=text * times, times=times)


def _result(data: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": json.dumps(data)}], "structuredContent": data}


async def echo_by_hand(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    times = args.get("times", 1)
    return _result({"text": args["text"] * times, "times": times})


async def whoami_by_hand(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    principal = ctx.principal
    return _result(
        {
            "tenant": principal.tenant_slug,
            "subject": principal.subject,
            "scopes": sorted(principal.scopes),
            "auth_method": str(principal.auth_method),
        }
    )


NO_ARGUMENTS = {"type": "object", "properties": {}, "additionalProperties": False}
WHOAMI_OUTPUT = {
    "type": "object",
    "properties": {
        "tenant": {"type": "string", "description": "The tenant's slug"},
        "subject": {"type": "string", "description": "Who the credential names"},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "auth_method": {"type": "string", "enum": ["api_key", "jwt"]},
    },
    "required": ["tenant", "subject", "scopes", "auth_method"],
}
ECHO_INPUT = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "maxLength": 200},
        "times": {"type": "integer", "default": 1},
    },
    "required": ["text"],
    "additionalProperties": False,
}
ECHO_OUTPUT = {
    "type": "object",
    "properties": {"text": {"type": "string"}, "times": {"type": "integer"}},
    "required": ["text", "times"],
}

BY_HAND = register(
    ToolSet(
        name="bench-by-hand",
        description="Benchmark tools written by hand",
        tools=(
            Tool(
                name="whoami_by_hand",
                description="Shows who is calling (written by hand).",
                handler=whoami_by_hand,
                input_schema=NO_ARGUMENTS,
                output_schema=WHOAMI_OUTPUT,
                annotations={"readOnlyHint": True, "idempotentHint": True, "openWorldHint": False},
            ),
            Tool(
                name="echo_by_hand",
                description="Echoes the text back, as many times as asked (written by hand).",
                handler=echo_by_hand,
                input_schema=ECHO_INPUT,
                output_schema=ECHO_OUTPUT,
                annotations={"readOnlyHint": True},
            ),
        ),
    )
)
