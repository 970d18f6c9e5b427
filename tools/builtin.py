"""The ``builtin`` tool set: tools every tenant can have, such as ``whoami``."""

import json
from collections.abc import Mapping
from typing import Any

from tools.context import ToolContext
from tools.registry import Tool, ToolSet, register

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


async def whoami(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    principal = ctx.principal
    data = {
        "tenant": principal.tenant_slug,
        "subject": principal.subject,
        "scopes": sorted(principal.scopes),
        "auth_method": str(principal.auth_method),
    }
    return {
        "content": [{"type": "text", "text": json.dumps(data)}],
        "structuredContent": data,
    }


BUILTIN = register(
    ToolSet(
        name="builtin",
        description="Tools every tenant can have: whoami shows who the server thinks is calling.",
        tools=(
            Tool(
                name="whoami",
                title="Who am I",
                description=(
                    "Shows who the server thinks is calling: the tenant, the subject of the "
                    "credential, its scopes and how it was authenticated."
                ),
                handler=whoami,
                input_schema={"type": "object", "properties": {}, "additionalProperties": False},
                output_schema=WHOAMI_OUTPUT,
                annotations={"readOnlyHint": True, "idempotentHint": True, "openWorldHint": False},
            ),
        ),
    )
)
