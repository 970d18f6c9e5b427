"""Tools with plain content: text, images, audio, embedded resources, logging, progress."""

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from tools.conformance.common import AUDIO_WAV, IMAGE_PNG, result, text
from tools.context import ToolContext
from tools.errors import ToolError

# ----- plain content --------------------------------------------------------------------


async def simple_text(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return result(text("This is a simple text response for testing."))


async def image_content(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return result({"type": "image", "data": IMAGE_PNG, "mimeType": "image/png"})


async def audio_content(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return result({"type": "audio", "data": AUDIO_WAV, "mimeType": "audio/wav"})


async def embedded_resource(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return result(
        {
            "type": "resource",
            "resource": {
                "uri": "test://embedded-resource",
                "mimeType": "text/plain",
                "text": "This is an embedded resource content.",
            },
        }
    )


async def multiple_content_types(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return result(
        text("Multiple content types test:"),
        {"type": "image", "data": IMAGE_PNG, "mimeType": "image/png"},
        {
            "type": "resource",
            "resource": {
                "uri": "test://mixed-content-resource",
                "mimeType": "application/json",
                "text": json.dumps({"test": "data", "value": 123}),
            },
        },
    )


async def tool_with_logging(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    for step, message in enumerate(
        ("Tool execution started", "Tool processing data", "Tool execution completed")
    ):
        if step:
            await asyncio.sleep(0.05)
        await ctx.log("info", message)
    return result(text("Tool with logging executed successfully"))


async def tool_with_progress(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    for step in (0, 50, 100):
        if step:
            await asyncio.sleep(0.05)
        await ctx.progress(step, 100, f"Completed step {step} of 100")
    return result(text(str(ctx.progress_token if ctx.progress_token is not None else 0)))


async def error_handling(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    raise ToolError("This tool intentionally returns an error for testing")


async def json_schema_tool(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return result(text(f"JSON Schema 2020-12 tool called with: {json.dumps(dict(args))}"))


async def reconnection(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    # SEP-1699: the stream is closed before the answer, which the client gets on resuming.
    await ctx.close_stream()
    await asyncio.sleep(0.1)
    return result(
        text(
            "Reconnection test completed successfully. If you received this, the client "
            "properly reconnected after stream closure."
        )
    )


async def custom_header(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return result(text(f"Routed to region {args.get('region')}"))
