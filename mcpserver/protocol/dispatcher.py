"""The dispatcher: one JSON-RPC request in, one result out, for either era and any transport.

It knows nothing of HTTP: the endpoint (and stdio) give it a ``Call`` with the caller, the
era, and callbacks to send notifications or server-to-client requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcpserver.eras import META_SERVER_INFO, SERVER_INFO, Era
from mcpserver.errors import MethodNotFound
from mcpserver.protocol import methods as m
from mcpserver.protocol import tasks
from mcpserver.protocol.call import Call

Handler = Callable[[Call], Awaitable[dict[str, Any]]]

_COMMON: dict[str, Handler] = {
    "tools/list": m.tools_list,
    "tools/call": m.tools_call,
    "resources/list": m.resources_list,
    "resources/templates/list": m.resource_templates_list,
    "resources/read": m.resources_read,
    "prompts/list": m.prompts_list,
    "prompts/get": m.prompts_get,
    "completion/complete": m.completion_complete,
}
METHODS: dict[Era, dict[str, Handler]] = {
    Era.STATELESS: {
        **_COMMON,
        "server/discover": m.server_discover,
        # The tasks extension (tasks/result and tasks/list were removed from it: -32601).
        "tasks/get": tasks.tasks_get,
        "tasks/update": tasks.tasks_update,
        "tasks/cancel": tasks.tasks_cancel,
    },
    Era.SESSION: {
        **_COMMON,
        "initialize": m.initialize,
        "ping": m.ping,
        "logging/setLevel": m.logging_set_level,
        "resources/subscribe": m.resources_subscribe,
        "resources/unsubscribe": m.resources_subscribe,
    },
}
# Methods the endpoint serves itself (a long-lived stream), listed so routing knows them.
STREAM_METHODS: dict[Era, frozenset[str]] = {
    Era.STATELESS: frozenset({"subscriptions/listen"}),
    Era.SESSION: frozenset(),
}


def knows(method: str, era: Era) -> bool:
    return method in METHODS[era] or method in STREAM_METHODS[era]


async def dispatch(call: Call) -> dict[str, Any]:
    handler = METHODS[call.era].get(call.message.method)
    if handler is None:
        raise MethodNotFound(f"Method not found: {call.message.method}")
    if call.tenant.own_tools is not None:  # None for tenants without upstreams: no await
        await call.load_catalogue()
    result = await handler(call)
    if call.era is Era.STATELESS:
        result.setdefault("resultType", "complete")
        meta = result.setdefault("_meta", {})
        meta[META_SERVER_INFO] = SERVER_INFO
    return result
