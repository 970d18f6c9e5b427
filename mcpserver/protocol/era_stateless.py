"""POST in the 2026-07-28 era: every request self-describing, no session."""

from __future__ import annotations

from mcpserver.eras import Era
from mcpserver.errors import HeaderMismatch, MethodNotFound
from mcpserver.protocol import dispatcher, streams
from mcpserver.protocol.answering import notifier, run
from mcpserver.protocol.http import Exchange
from mcpserver.protocol.inbound import declared_version, require_supported
from mcpserver.protocol.jsonrpc import Message
from mcpserver.protocol.sse import Reply

NAMED_METHODS = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
}


def check_headers(exchange: Exchange, message: Message) -> None:
    """The HTTP headers must repeat what the body says (version, method, name)."""
    version = declared_version(message)
    if exchange.headers.get("mcp-protocol-version") != version:
        raise HeaderMismatch("Header mismatch: MCP-Protocol-Version differs from _meta")
    require_supported(version)
    if exchange.headers.get("mcp-method") != message.method:
        raise HeaderMismatch("Header mismatch: Mcp-Method differs from the method")
    field = NAMED_METHODS.get(message.method)
    if field is not None:
        name = (message.params or {}).get(field)
        if isinstance(name, str) and exchange.headers.get("mcp-name") != name:
            raise HeaderMismatch(f"Header mismatch: Mcp-Name differs from {field}")


async def post(exchange: Exchange, message: Message) -> None:
    if message.kind != "request":
        await exchange.respond(202)
        return
    check_headers(exchange, message)
    if not dispatcher.knows(message.method, Era.STATELESS):
        raise MethodNotFound(f"Method not found: {message.method}")
    if message.method == "subscriptions/listen":
        await streams.listen(exchange, message)
        return
    reply = Reply(
        exchange.send,
        accepts_sse=exchange.accepts("text/event-stream"),
        on_stream=exchange.on_stream,
    )
    await run(exchange.call(message, Era.STATELESS, notify=notifier(reply)), reply)
