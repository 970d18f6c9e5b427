"""The guarded outbound client as an ``httpx2.AsyncClient``, for code that builds its own
requests: the MCP SDK's client talking to an upstream server.

Its transport resolves, checks and pins every request exactly as ``tenants.outbound``'s
``arequest`` does (same policy, same refusals, raised before any connection is made), never
follows a redirect itself (a client that follows one sends a new request, which is checked
again), takes no proxy from the environment, verifies TLS, and caps every response body.
"""

from __future__ import annotations

from typing import Any

import httpx2

from tenants.outbound import _tls_context
from tenants.outbound_policy import OutboundPolicy, _aresolve, safe_url


class ResponseTooLarge(httpx2.ReadError):
    """A guarded client's response went past the cap (an ``httpx2.TransportError``, so code
    written for httpx treats it as the failed read it is)."""


class _CappedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, *, limit: int, url: str) -> None:
        self._inner, self._limit, self._url = inner, limit, url

    async def __aiter__(self) -> Any:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > self._limit:
                raise ResponseTooLarge(
                    f"{safe_url(self._url)} returned more than {self._limit} bytes"
                )
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class GuardedAsyncTransport(httpx2.AsyncBaseTransport):
    """Every request resolved, checked and pinned as ``arequest`` does; bodies capped.

    A refused destination raises ``OutboundRefused`` before any connection is made."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._inner = httpx2.AsyncHTTPTransport(verify=_tls_context(), trust_env=False)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = str(request.url)
        address = await _aresolve(url, self._policy)
        extensions = dict(request.extensions)
        if request.url.scheme == "https":
            extensions["sni_hostname"] = request.url.raw_host.decode("ascii")
        # The Host header was set from the URL's name when the request was built: it stays.
        pinned = httpx2.Request(
            request.method,
            request.url.copy_with(host=str(address)),
            headers=request.headers,
            stream=request.stream,
            extensions=extensions,
        )
        response = await self._inner.handle_async_request(pinned)
        stream = response.stream
        assert isinstance(stream, httpx2.AsyncByteStream)  # noqa: S101 (an async transport's)
        response.stream = _CappedStream(stream, limit=self._policy.max_bytes, url=url)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def guarded_async_client(
    *,
    policy: OutboundPolicy,
    headers: dict[str, str] | None = None,
    read_timeout: float | None = None,
) -> httpx2.AsyncClient:
    """An ``httpx2.AsyncClient`` whose every request goes through the checks above.

    ``read_timeout``: how long to wait between bytes of a response (an event stream may be
    quiet for longer than ``policy.timeout`` allows a connection to take)."""
    timeout = httpx2.Timeout(policy.timeout, read=read_timeout or policy.timeout)
    return httpx2.AsyncClient(
        transport=GuardedAsyncTransport(policy),
        headers=headers,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
