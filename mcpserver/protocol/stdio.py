"""The same dispatcher over stdio: one JSON-RPC message per line in, one per line out.

Both eras work, told apart by the same classifier as over HTTP: a request whose ``_meta``
names a version is served statelessly; otherwise the connection is one session
(``initialize`` first), and server-to-client requests go out on stdout with their answers
read back from stdin. A ``notifications/cancelled`` stops the request it names, which then
gets no answer (the one cancellation the 2026-07-28 era defines on stdio, and the session
era's too).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from mcpserver.eras import Era
from mcpserver.errors import InvalidRequest, McpError, MethodNotFound, ToolError
from mcpserver.protocol import dispatcher, inbound, sessions
from mcpserver.protocol.call import Call
from mcpserver.protocol.jsonrpc import (
    Message,
    dumps,
    error_message,
    notification,
    parse,
    request,
    result_message,
)
from mcpserver.protocol.translator import error_object
from tenants.principal import Principal
from tenants.snapshots import TenantView

ReadLine = Callable[[], Awaitable[bytes]]
Write = Callable[[bytes], Awaitable[None]]


class StdioServer:
    def __init__(
        self, tenant: TenantView, principal: Principal, toolsets: tuple[str, ...], write: Write
    ) -> None:
        self.tenant = tenant
        self.principal = principal
        self.toolsets = toolsets
        self._write = write
        self.session: dict[str, Any] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        # Requests being answered, by id (json.dumps keeps 1 and "1" apart).
        self._running: dict[str, asyncio.Task[None]] = {}

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
            await self.send(error_message(None, error_object(exc)[0]))
            return
        if message.kind == "response":
            future = self._pending.pop(str(message.id), None)
            if future is not None and not future.done():
                future.set_result(message.raw)
            return
        if message.kind == "notification":
            if message.method == "notifications/cancelled":
                self._cancel(message.params)
            return
        task = asyncio.ensure_future(self._answer(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        ident = json.dumps(message.id)
        self._running[ident] = task
        task.add_done_callback(lambda _t: self._running.pop(ident, None))

    def _cancel(self, params: Any) -> None:
        request_id = params.get("requestId") if isinstance(params, dict) else None
        if isinstance(request_id, bool) or not isinstance(request_id, (str, int)):
            return
        task = self._running.get(json.dumps(request_id))
        if task is not None:
            task.cancel()

    def _call(self, message: Message, era: Era) -> Call:
        if era is Era.STATELESS:
            inbound.require_supported(inbound.declared_version(message))
            if message.method == "subscriptions/listen":
                raise MethodNotFound("subscriptions/listen is not offered over stdio")
        elif message.method != "initialize" and self.session is None:
            raise InvalidRequest("Initialize the session first")
        stateless = era is Era.STATELESS
        return Call(
            tenant=self.tenant,
            principal=self.principal,
            toolsets=self.toolsets,
            era=era,
            message=message,
            session=None if stateless else self.session,
            notify=self._notify,
            ask=None if stateless else self._ask,
        )

    async def _answer(self, message: Message) -> None:
        era = inbound.classify(message)
        try:
            result = await dispatcher.dispatch(self._call(message, era))
            self._running.pop(json.dumps(message.id), None)  # answering: no longer cancellable
            if message.method == "initialize":
                caps = (message.params or {}).get("capabilities")
                self.session = sessions.new_session(
                    self.principal,
                    result["protocolVersion"],
                    caps if isinstance(caps, dict) else {},
                    (message.params or {}).get("clientInfo"),
                )
            await self.send(result_message(message.id, result))
        except asyncio.CancelledError:
            return  # cancelled by the client: no answer
        except Exception as exc:  # noqa: BLE001 (the translator logs what is not ours)
            await self.send(error_message(message.id, error_object(exc, era=era)[0]))

    async def _notify(self, method: str, params: dict[str, Any]) -> None:
        await self.send(notification(method, params))

    async def _ask(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = f"srv-{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self.send(request(request_id, method, params))
        answer = await future
        if "error" in answer:
            raise ToolError("The client declined the request.")
        result = answer.get("result")
        return result if isinstance(result, dict) else {}
