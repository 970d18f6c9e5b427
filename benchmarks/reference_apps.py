"""Reference ASGI apps the benchmark serves beside the project's own application.

``bare``: the smallest ASGI app that answers a POST with a fixed JSON body (the ceiling a server
can reach). ``sdk``: the official MCP Python SDK's stateless Streamable HTTP server with one
tool, the reference point for the uvicorn target.
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


def __getattr__(name: str) -> Any:
    if name == "sdk":
        return _sdk_app()
    raise AttributeError(name)
