"""The HTTP side of one exchange: what the endpoint reads from the ASGI scope, and the one
place responses are written (``send_response`` for whole answers, ``start_stream`` and
``send_chunk`` for SSE).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from mcpserver.context import request_headers
from mcpserver.eras import Era
from mcpserver.errors import Headers
from mcpserver.observability.requests import Observed
from mcpserver.protocol.call import Call
from mcpserver.protocol.jsonrpc import Message, RequestId, dumps
from mcpserver.protocol.translator import answer
from tenants.principal import Principal
from tenants.snapshots import TenantView

Send = Callable[[dict[str, Any]], Awaitable[None]]
HeaderSeq = Sequence[tuple[bytes, bytes]]

SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]
JSON_HEADERS: Headers = [(b"content-type", b"application/json")]


async def send_response(
    send: Send, status: int, body: bytes = b"", headers: HeaderSeq = ()
) -> None:
    """A whole response: JSON when there is a body, none otherwise."""
    length = [(b"content-length", str(len(body)).encode())]
    start = (JSON_HEADERS + length if body else []) + list(headers)
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def start_stream(send: Send, headers: HeaderSeq = ()) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": SSE_HEADERS + list(headers)}
    )


async def send_chunk(send: Send, data: bytes, *, more: bool = True) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": more})


async def send_error(
    send: Send, exc: BaseException, ident: RequestId | None = None, *, era: Era | None = None
) -> None:
    """Any error, answered as the translator says."""
    reply = answer(exc, ident, era=era)
    body = dumps(reply.body) if reply.body is not None else b""
    await send_response(send, reply.status, body, reply.headers)


def _unwatched(carry_on: Callable[[], bool] | None) -> None:
    return None


class Exchange:
    """One HTTP request to the MCP endpoint, after the transport guard and authentication
    (``scope`` carries ``tenant``, ``principal`` and ``client_ip``)."""

    def __init__(
        self,
        scope: Mapping[str, Any],
        send: Send,
        on_stream: Callable[[Callable[[], bool] | None], None] | None = None,
    ) -> None:
        self.scope = scope
        self.send = send
        # Called when a response turns into a stream that stays open (SSE), with what to ask
        # if the client leaves: whether the request goes on without it (None: it does not).
        self.on_stream = on_stream or _unwatched
        # Decoded once for the whole stack (names lowercase): never logged or audited whole.
        self.headers: dict[str, str] = request_headers(scope)
        self.principal: Principal = scope["principal"]
        self.tenant: TenantView = scope["tenant"]
        self.tenant_id: int = self.tenant.id
        self.toolsets: tuple[str, ...] = self.tenant.enabled_toolsets
        self.client_ip: str | None = scope.get("client_ip")
        # The metrics' view of this request (mcpserver.observability.requests).
        self.observed = Observed(self.tenant.slug, str(scope.get("method", "")))

    def call(self, message: Message, era: Era, **extra: Any) -> Call:
        """The dispatcher's view of this exchange for ``message``."""
        return Call(
            tenant=self.tenant,
            principal=self.principal,
            toolsets=self.toolsets,
            era=era,
            message=message,
            client_ip=self.client_ip,
            observed=self.observed,
            **extra,
        )

    def accepts(self, media: str) -> bool:
        accept = self.headers.get("accept", "")
        return media in accept or "*/*" in accept

    async def respond(
        self, status: int, body: dict[str, Any] | None = None, headers: HeaderSeq = ()
    ) -> None:
        await send_response(self.send, status, dumps(body) if body is not None else b"", headers)

    async def fail(
        self, exc: BaseException, ident: RequestId | None = None, *, era: Era | None = None
    ) -> None:
        self.observed.failed(exc)
        await send_error(self.send, exc, ident, era=era)
