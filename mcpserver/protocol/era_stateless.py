"""POST in the 2026-07-28 era: every request self-describing, no session."""

from __future__ import annotations

from mcpserver.eras import Era
from mcpserver.errors import HeaderMismatch, MethodNotFound
from mcpserver.protocol import cancellation, custom_headers, dispatcher, streams
from mcpserver.protocol.answering import notifier, run
from mcpserver.protocol.http import Exchange
from mcpserver.protocol.inbound import declared_version, require_supported
from mcpserver.protocol.jsonrpc import Message
from mcpserver.protocol.sse import Reply
from tools.registry import catalogue_for

# A call still running after this long is cancelled if its client closes the connection; one
# answered sooner never starts listening for that (a listener is a task per request).
LEAVING_CANCELS_AFTER = 0.05

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
        header = exchange.headers.get("mcp-name")
        if isinstance(name, str) and (header is None or header.strip(" \t") != name):
            raise HeaderMismatch(f"Header mismatch: Mcp-Name differs from {field}")
    if message.method == "tools/call":
        _check_custom_headers(exchange, message)


def _check_custom_headers(exchange: Exchange, message: Message) -> None:
    params = message.params or {}
    tool = catalogue_for(exchange.toolsets, exchange.tenant.disabled_tools).tools_by_name.get(
        params.get("name")  # type: ignore[arg-type]
    )
    arguments = params.get("arguments")
    if tool is not None and isinstance(arguments, dict):
        custom_headers.check(tool, arguments, exchange.headers)


async def post(exchange: Exchange, message: Message) -> None:
    if message.kind != "request":
        # Closing a request's stream is the cancellation this era defines; a client that
        # sends notifications/cancelled instead is heard too, on whichever instance.
        if message.kind == "notification" and message.method == "notifications/cancelled":
            await cancellation.cancel(exchange.tenant_id, exchange.principal, message.params)
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
    call = exchange.call(message, Era.STATELESS, notify=notifier(reply))
    key = cancellation.request_key(exchange.tenant_id, exchange.principal, message.id)
    await run(call, reply, key=key, leaving_cancels_after=LEAVING_CANCELS_AFTER)
