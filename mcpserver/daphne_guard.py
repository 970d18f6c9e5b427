"""Daphne, safe by default: bodies capped as they arrive, slow and idle connections closed,
no credential in its access log.

Under daphne, twisted reads a request's whole body before daphne hands the request to the
application, so the consumer's cap on ``MAX_REQUEST_BYTES`` cannot stop a 10 MB chunked
upload; twisted's idle timer restarts on every byte, so a client sending one byte a second
holds its connection for as long as it likes; and daphne's access log writes the raw query
string, ``?access_token=mcpk_...`` included. Daphne has no option for any of this (its
``--http-timeout`` counts from the end of the body and would also cut SSE streams, and
``--request-buffer-size`` only sizes the chunks handed to the application).

``install()``, called by ``mcpserver.asgi``, replaces the one name daphne's ``Server.run``
builds its HTTP side from (``daphne.server.HTTPFactory``) with a subclass, so every way of
starting daphne on this application gets it; under uvicorn nothing calls it. The subclasses:

- a request refuses a body over its cap on ``Content-Length`` or as soon as the bytes read
  pass it (``MAX_REQUEST_BYTES`` on ``/mcp/``, Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``
  elsewhere): 413, the connection closed, the rest never read;
- a connection must deliver a whole request (line, headers, body) within
  ``HTTP_REQUEST_TIMEOUT`` seconds of its first byte, or it gets 408 and is closed;
- a connection with no request in progress is closed after ``HTTP_KEEPALIVE_TIMEOUT``
  seconds (twisted's own idle timer, which stays off while a response, SSE included, runs);
- access-log entries have their credentials redacted, and twisted's second access log (its
  combined-format line, written to the twisted log daphne forwards at ``-v 2``) is dropped.
"""

from __future__ import annotations

# daphne.server first, as daphne's own app config does: it installs twisted's asyncio reactor,
# which must happen before anything imports twisted.internet.reactor.
import daphne.server  # isort:skip

import logging
from collections.abc import Callable
from typing import Any

import daphne
import twisted
from daphne.http_protocol import HTTPFactory, WebRequest
from twisted.internet import reactor
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.web import http

from mcpserver.conf import mcp_settings
from mcpserver.logging import redact_target

logger = logging.getLogger("mcpserver.daphne")

# The versions whose internals (HTTPChannel._handlingRequest/_path, the transfer decoders
# calling Request.handleContentChunk, Request._parsePOSTFormSubmission,
# daphne.server.HTTPFactory) this was checked against.
TESTED_DAPHNE = ("4.",)
TESTED_TWISTED = ("24.", "25.", "26.")


def body_limit(target: bytes) -> int | None:
    """The largest body accepted for a request target (path and query), None for no limit."""
    from django.conf import settings

    if target.split(b"?", 1)[0].startswith(b"/mcp/"):
        return int(mcp_settings.MAX_REQUEST_BYTES)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return None if limit is None else int(limit)


def _too_large_body(target: bytes) -> tuple[bytes, bytes]:
    from mcpserver.errors import PayloadTooLarge
    from mcpserver.protocol.jsonrpc import dumps
    from mcpserver.protocol.translator import answer

    if not target.startswith(b"/mcp/"):
        body = {"error": "request_too_large", "error_description": PayloadTooLarge.default_message}
        return b"application/json", dumps(body)
    refusal = answer(PayloadTooLarge())
    return b"application/json", dumps(refusal.body or {})


def _answer_and_close(channel: Any, status: bytes, content_type: bytes, body: bytes) -> None:
    # Written raw, as twisted answers a malformed request: the request line may not even be
    # complete, so twisted's Request.write has nothing to build a response from.
    channel.transport.write(
        b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
        % (status, content_type, len(body), body)
    )
    channel.loseConnection()


class GuardedRequest(WebRequest):
    """Daphne's request, refusing an oversized body before it is read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The application reads every body itself (ASGI): twisted's parse of a POST's form
        # arguments, which runs the email package over each request's Content-Type, would
        # only be thrown away (the option twisted's Site(parsePOSTFormSubmission=False) sets).
        self._parsePOSTFormSubmission = False

    def gotLength(self, length: int | None) -> None:
        super().gotLength(length)
        self._target: bytes = getattr(self.channel, "_path", b"")
        self._limit = body_limit(self._target)
        self._received = 0
        self._refused = False
        if length is not None and self._limit is not None and length > self._limit:
            # No "100 Continue" for a body that will not be read.
            self.requestHeaders.removeHeader(b"Expect")
            self._refuse()

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of a read already under way when the cap was passed
        self._received += len(data)
        if self._limit is not None and self._received > self._limit:
            self._refuse()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if getattr(self, "_refused", False):
            return  # answered already; the application never sees this request
        super().requestReceived(command, path, version)

    def _refuse(self) -> None:
        self._refused = True
        content_type, body = _too_large_body(self._target)
        _answer_and_close(self.channel, b"413 Content Too Large", content_type, body)
        self.server.log_action(
            "http",
            "complete",
            {
                "path": self._target.decode("ascii", "replace"),
                "status": 413,
                "method": getattr(self.channel, "_command", b"-").decode("ascii", "replace"),
                "client": "%s:%s" % (self.client.host, self.client.port)  # noqa: UP031
                if hasattr(self.client, "host")
                else None,
                "time_taken": 0,
                "size": len(body),
            },
        )


class GuardedChannel(http.HTTPChannel):
    """Twisted's HTTP/1.1 channel with a deadline on each request's arrival.

    Twisted's idle timer (``timeOut``) restarts on every byte, so it cannot stop a client
    that trickles a request; this deadline starts with a request's first byte and ends when
    the request is complete.
    """

    _deadline: Any = None

    def dataReceived(self, data: bytes) -> None:
        if self._deadline is None and not self._handlingRequest:
            self._deadline = reactor.callLater(mcp_settings.HTTP_REQUEST_TIMEOUT, self._too_slow)
        super().dataReceived(data)

    def allContentReceived(self) -> None:
        self._cancel_deadline()
        super().allContentReceived()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._cancel_deadline()
        super().connectionLost(reason)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            if self._deadline.active():
                self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self._handlingRequest or self.transport is None:
            return
        _answer_and_close(
            self, b"408 Request Timeout", b"text/plain; charset=utf-8", b"Request timeout\n"
        )


def _guarded_channel(factory: HTTPFactory) -> Any:
    # Twisted's own protocol factory, with our channel inside the wrapper that switches to
    # HTTP/2 when TLS negotiates it.
    return http._GenericHTTPChannelProtocol(GuardedChannel())


def _redacting(action_logger: Callable[[str, str, dict[str, Any]], None]) -> Any:
    def log_action(protocol: str, action: str, details: dict[str, Any]) -> None:
        if isinstance(details.get("path"), str):
            details = {**details, "path": redact_target(details["path"])}
        action_logger(protocol, action, details)

    return log_action


class GuardedHTTPFactory(HTTPFactory):
    protocol = _guarded_channel

    def __init__(self, server: Any) -> None:
        super().__init__(server)
        self.timeOut = mcp_settings.HTTP_KEEPALIVE_TIMEOUT
        if server.action_logger is not None:
            server.action_logger = _redacting(server.action_logger)

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = GuardedRequest
        return protocol

    def log(self, request: Any) -> None:
        """Twisted's combined-format line: daphne writes its own (redacted) access log."""


def _versions_tested() -> bool:
    return daphne.__version__.startswith(TESTED_DAPHNE) and twisted.__version__.startswith(
        TESTED_TWISTED
    )


def install() -> bool:
    """Make daphne's Server build the guarded factory; False (and an error logged) when the
    installed daphne or Twisted is not a tested version."""
    if not _versions_tested():
        logger.error(
            "daphne %s / Twisted %s are untested with mcpserver.daphne_guard: request bodies "
            "are not capped while they arrive and slow connections are not timed out",
            daphne.__version__,
            twisted.__version__,
        )
        return False
    daphne.server.HTTPFactory = GuardedHTTPFactory
    return True


__all__ = ["GuardedHTTPFactory", "body_limit", "install", "redact_target"]
