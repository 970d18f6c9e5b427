"""Reference ASGI apps the benchmark serves beside the project's own application.

``bare``: the smallest ASGI app that answers a POST with a fixed JSON body (the ceiling a server
can reach). ``sdk``: the official MCP Python SDK's stateless Streamable HTTP server with one
tool (the high-level server, formerly FastMCP), the reference point for the uvicorn targets.
``channels_consumer``: the smallest Channels ``AsyncHttpConsumer`` answering the same fixed
body, the ceiling for a Channels application under daphne.
"""

import json
from typing import Any

BARE_BODY = json.dumps(
    {"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "ok"}]}}
).encode()


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": BARE_BODY})


def _sdk_app() -> Any:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("benchmark-reference")

    @server.tool()
    def whoami() -> str:
        """Returns a fixed identity."""
        return json.dumps({"tenant": "bench", "subject": "bench", "scopes": []})

    return server.streamable_http_app(stateless_http=True, json_response=True)


def _channels_app() -> Any:
    import django

    django.setup()
    from channels.generic.http import AsyncHttpConsumer
    from channels.routing import ProtocolTypeRouter

    class Fixed(AsyncHttpConsumer):
        # No channel layer: a layer would cost a Redis round trip per request.
        channel_layer_alias = "__none__"

        async def handle(self, body: bytes) -> None:
            await self.send_response(
                200, BARE_BODY, headers=[(b"content-type", b"application/json")]
            )

    return ProtocolTypeRouter({"http": Fixed.as_asgi()})


def __getattr__(name: str) -> Any:
    if name == "sdk":
        return _sdk_app()
    if name == "channels_consumer":
        return _channels_app()
    raise AttributeError(name)
