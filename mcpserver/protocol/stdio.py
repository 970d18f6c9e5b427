"""The same dispatcher over stdio: one JSON-RPC message per line in, one per line out.

Both eras work: a request whose ``_meta`` names a 2026-07-28 version is served statelessly;
otherwise the connection is one legacy session (``initialize`` first), and server-to-client
requests go out on stdout with their answers read back from stdin.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from mcpserver.protocol import dispatcher
from mcpserver.protocol.errors import InvalidRequest, McpError, MethodNotFound, ToolError, translate
from mcpserver.protocol.jsonrpc import Message, dumps, error_message, parse, result_message
from mcpserver.protocol.versions import META_VERSION, MODERN_VERSIONS
from tenants.principal import Principal

ReadLine = Callable[[], Awaitable[bytes]]
Write = Callable[[bytes], Awaitable[None]]


class StdioServer:
    def __init__(self, principal: Principal, toolsets: tuple[str, ...], write: Write) -> None:
        self.principal = principal
        self.toolsets = toolsets
        self._write = write
        self.session: dict[str, Any] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, message: dict[str, Any]) -> None:
        await self._write(dumps(message) + b"\n")

    async def serve(self, readline: ReadLine) -> None:
        while line := await readline():
            if line.strip():
                await self.receive(line)
        for task in list(self._tasks):
            await task

    async def receive(self, line: bytes) -> None:
        try:
            message = parse(line)
        except McpError as exc:
            await self.send(error_message(None, translate(exc)[0]))
            return
        if message.kind == "response":
            future = self._pending.pop(str(message.id), None)
            if future is not None and not future.done():
                future.set_result(message.raw)
            return
        if message.kind == "notification":
            return
        task = asyncio.ensure_future(self._answer(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, message: Message) -> None:
        meta = (message.params or {}).get("_meta")
        modern = isinstance(meta, dict) and meta.get(META_VERSION) in MODERN_VERSIONS
        try:
            if not modern and message.method != "initialize" and self.session is None:
                raise InvalidRequest("Initialize the session first")
            if modern and message.method == "subscriptions/listen":
                raise MethodNotFound("subscriptions/listen is not offered over stdio")
            call = dispatcher.Call(
                principal=self.principal,
                toolsets=self.toolsets,
                modern=modern,
                message=message,
                session=None if modern else self.session,
                notify=self._notify,
                ask=None if modern else self._ask,
            )
            result = await dispatcher.dispatch(call)
            if message.method == "initialize":
                caps = (message.params or {}).get("capabilities")
                self.session = {
                    "capabilities": caps if isinstance(caps, dict) else {},
                    "log_level": None,
                    "subscriptions": [],
                }
            await self.send(result_message(message.id, result))
        except Exception as exc:  # noqa: BLE001 (the translator logs what is not ours)
            await self.send(error_message(message.id, translate(exc, legacy=not modern)[0]))

    async def _notify(self, method: str, params: dict[str, Any]) -> None:
        await self.send({"jsonrpc": "2.0", "method": method, "params": params})

    async def _ask(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = f"srv-{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        answer = await future
        if "error" in answer:
            raise ToolError("The client declined the request.")
        result = answer.get("result")
        return result if isinstance(result, dict) else {}
