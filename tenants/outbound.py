"""The project's one outbound HTTP client: every request the server makes goes through here.

A URL a tenant or a third party controls (an issuer, a discovery document's ``jwks_uri``, an
upstream API) must not turn the server into a proxy into its own network. So, per request:

- the host name is resolved once and every address it resolves to is checked; the
  connection goes to the checked address (the URL's host name stays in the ``Host`` header
  and in TLS, as SNI and for certificate verification), so a second DNS answer cannot swap in
  another address between the check and the connection;
- public addresses are allowed; private, loopback and carrier-grade NAT addresses only when
  the policy allows the private network; link-local (cloud metadata services live there),
  multicast, unspecified, ``0.0.0.0/8`` and reserved addresses never, unless a network of
  ``policy.allowed_networks`` or the ``OUTBOUND_ALLOWED_NETWORKS`` setting names them.
  IPv4 addresses inside IPv6 ones (IPv4-mapped, NAT64, 6to4) are judged as IPv4 too;
  decimal and octal spellings are resolved, then judged, like any other name;
- plain http only to an allowed non-public address: a public host is always https;
- redirects are not followed unless the policy says so, and then every hop is checked again;
- a timeout on each request, a cap on the response body, and no proxy from the environment
  (a proxy would connect where the check never looked).

``request``/``arequest``/``get_json`` make one request each; for code that builds its own
requests (the MCP SDK's client), ``tenants.outbound_transport.guarded_async_client`` is an
``httpx2.AsyncClient`` whose transport applies these same checks to every request.

``OutboundRefused`` (the destination is not allowed) and ``OutboundError`` (the request
failed) carry messages that are safe to log: URLs lose their user info and query string.
"""

import functools
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx2

from mcpserver.observability import tracing
from tenants.outbound_policy import (
    IPAddress,
    OutboundError,
    OutboundPolicy,
    OutboundRefused,
    _aresolve,
    _resolve,
    refusal,
    safe_url,
)

__all__ = [
    "OutboundError",
    "OutboundPolicy",
    "OutboundRefused",
    "OutboundResponse",
    "arequest",
    "get_json",
    "refusal",
    "request",
    "safe_url",
]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes


def _pinned_request(
    client: httpx2.Client | httpx2.AsyncClient,
    method: str,
    url: str,
    address: IPAddress,
    headers: dict[str, str],
    content: bytes | None,
) -> httpx2.Request:
    """A request that connects to ``address`` and still speaks to the URL's host name."""
    original = httpx2.URL(url)
    sni = original.raw_host.decode("ascii")
    extensions = {"sni_hostname": sni} if original.scheme == "https" else {}
    return client.build_request(
        method,
        original.copy_with(host=str(address)),
        headers={**headers, "Host": original.netloc.decode("ascii")},
        content=content,
        extensions=extensions,
    )


def _next_hop(url: str, response: httpx2.Response, hops: int, policy: OutboundPolicy) -> str | None:
    if response.status_code not in _REDIRECTS:
        return None
    location = response.headers.get("location")
    if not location:
        return None
    if hops >= policy.max_redirects:
        raise OutboundError(f"{safe_url(url)} redirected; redirects are not followed here")
    return urljoin(url, location)


def _too_large(url: str, policy: OutboundPolicy) -> OutboundError:
    return OutboundError(f"{safe_url(url)} returned more than {policy.max_bytes} bytes")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Built once: a new context per client costs ~50 ms (the trust store is loaded each time).
    return httpx2.create_ssl_context()


def _client_options(policy: OutboundPolicy) -> dict[str, Any]:
    return {
        "timeout": policy.timeout,
        "follow_redirects": False,
        "trust_env": False,
        "verify": _tls_context(),
    }


def request(
    method: str,
    url: str,
    *,
    policy: OutboundPolicy,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> OutboundResponse:
    """Blocking: run it in a thread from async code (or use ``arequest``). Traced as a client
    span when tracing is on, ``traceparent`` sent along."""
    with tracing.outbound(method, url, headers or {}) as sent:
        return _request(method, url, policy=policy, headers=sent, content=content)


def _request(
    method: str,
    url: str,
    *,
    policy: OutboundPolicy,
    headers: dict[str, str],
    content: bytes | None,
) -> OutboundResponse:
    with httpx2.Client(**_client_options(policy)) as client:
        for hops in range(policy.max_redirects + 1):
            address = _resolve(url, policy)
            built = _pinned_request(client, method, url, address, headers or {}, content)
            try:
                response = client.send(built, stream=True)
                try:
                    nxt = _next_hop(url, response, hops, policy)
                    if nxt is None:
                        body = bytearray()
                        for chunk in response.iter_bytes():
                            body += chunk
                            if len(body) > policy.max_bytes:
                                raise _too_large(url, policy)
                        return _done(url, response, bytes(body))
                finally:
                    response.close()
            except httpx2.HTTPError as exc:
                raise OutboundError(f"{safe_url(url)}: {type(exc).__name__}") from exc
            url, method, content = nxt, _after_redirect(method, response), None
    raise OutboundError(f"{safe_url(url)}: too many redirects")  # pragma: no cover


async def arequest(
    method: str,
    url: str,
    *,
    policy: OutboundPolicy,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> OutboundResponse:
    """The same as ``request``, on the running event loop."""
    with tracing.outbound(method, url, headers or {}) as sent:
        return await _arequest(method, url, policy=policy, headers=sent, content=content)


async def _arequest(
    method: str,
    url: str,
    *,
    policy: OutboundPolicy,
    headers: dict[str, str],
    content: bytes | None,
) -> OutboundResponse:
    async with httpx2.AsyncClient(**_client_options(policy)) as client:
        for hops in range(policy.max_redirects + 1):
            address = await _aresolve(url, policy)
            built = _pinned_request(client, method, url, address, headers or {}, content)
            try:
                response = await client.send(built, stream=True)
                try:
                    nxt = _next_hop(url, response, hops, policy)
                    if nxt is None:
                        body = bytearray()
                        async for chunk in response.aiter_bytes():
                            body += chunk
                            if len(body) > policy.max_bytes:
                                raise _too_large(url, policy)
                        return _done(url, response, bytes(body))
                finally:
                    await response.aclose()
            except httpx2.HTTPError as exc:
                raise OutboundError(f"{safe_url(url)}: {type(exc).__name__}") from exc
            url, method, content = nxt, _after_redirect(method, response), None
    raise OutboundError(f"{safe_url(url)}: too many redirects")  # pragma: no cover


def _after_redirect(method: str, response: httpx2.Response) -> str:
    # 303, and 301/302 after a POST, turn into GET (what browsers and httpx do).
    if response.status_code == 303 or (response.status_code in {301, 302} and method == "POST"):
        return "GET"
    return method


def _done(url: str, response: httpx2.Response, body: bytes) -> OutboundResponse:
    return OutboundResponse(
        url=url, status=response.status_code, headers=dict(response.headers), body=body
    )


def get_json(url: str, *, policy: OutboundPolicy) -> Any:
    """GET a JSON document (blocking); a non-200 answer or a body that is not JSON raises."""
    response = request("GET", url, policy=policy, headers={"Accept": "application/json"})
    if response.status != 200:
        raise OutboundError(f"{safe_url(url)} answered HTTP {response.status}")
    try:
        return json.loads(response.body)
    except ValueError as exc:
        raise OutboundError(f"{safe_url(url)} did not return JSON") from exc
