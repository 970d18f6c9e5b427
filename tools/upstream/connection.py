"""One connection to an upstream MCP server: the official SDK's client over the guarded
outbound client, with the tenant's credentials, bounded in time, its failures in safe words.

- Headers are the upstream's templates with the tenant's secrets filled in
  (``tenants.secrets``): nothing of the downstream client's request (its token, its headers)
  is ever part of them.
- Every HTTP request the SDK sends goes through ``tenants.outbound_transport``: resolved,
  checked (private addresses only with the upstream's ``allow_private_network``) and pinned,
  bodies capped, redirects re-checked.
- ``mode`` is the era the listing found (``"legacy"`` or a 2026 version, pinned with the
  discover result so no probe is sent), or ``"auto"``: the SDK probes ``server/discover``
  and falls back to ``initialize``. Either era works whichever era the downstream speaks.
- Whatever goes wrong becomes ``UpstreamFailure``, whose message names the upstream and says
  what happened, never a URL, a header or a secret; details go to the log.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from mcpserver.conf import mcp_settings
from mcpserver.eras import SERVER_INFO
from tenants.outbound import OutboundError, OutboundPolicy, OutboundRefused
from tenants.outbound_transport import ResponseTooLarge, guarded_async_client
from tenants.secrets import Expanded, SecretMissing, aexpand_headers
from tenants.upstreams.config import UpstreamConfig

logger = logging.getLogger("tools.upstream")

OnNotification = Callable[[Any], Awaitable[None]]


class UpstreamFailure(Exception):
    """The upstream could not give an answer; the message is for the end user."""

    def __init__(self, upstream: str, what: str) -> None:
        super().__init__(f"The upstream server '{upstream}' {what}.")
        self.upstream = upstream
        self.what = what


def policy_for(upstream: UpstreamConfig) -> OutboundPolicy:
    return OutboundPolicy(
        allow_private=upstream.allow_private_network,
        # The call's Deadline decides; the HTTP client's own timeouts are only a backstop.
        timeout=upstream.timeout + 1.0,
        max_bytes=int(mcp_settings.UPSTREAM_MAX_RESPONSE_BYTES),
    )


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside the exception groups anyio's task groups raise."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def failure(
    upstream: UpstreamConfig, exc: BaseException, scrub: Expanded | None
) -> UpstreamFailure:
    """``exc`` (anything an upstream call raised) in words a client may read."""
    exc = _leaf(exc)
    clean = scrub.scrub if scrub is not None else (lambda text: text)
    if isinstance(exc, UpstreamFailure):
        return exc
    if isinstance(exc, SecretMissing):
        logger.warning("upstream %s not called: %s", upstream.name, exc)
        return UpstreamFailure(upstream.name, "is missing a credential (ask the operator)")
    if isinstance(exc, OutboundRefused):
        logger.warning("upstream %s refused: %s", upstream.name, exc)
        return UpstreamFailure(upstream.name, f"was not called: {exc.reason}")
    if isinstance(exc, TimeoutError | httpx2.TimeoutException):
        return UpstreamFailure(upstream.name, "did not answer in time")
    if isinstance(exc, ResponseTooLarge):
        return UpstreamFailure(upstream.name, "sent an answer larger than allowed")
    if isinstance(exc, OutboundError | httpx2.TransportError | OSError):
        logger.warning("upstream %s unreachable: %s", upstream.name, type(exc).__name__)
        return UpstreamFailure(upstream.name, "could not be reached")
    if isinstance(exc, MCPError):
        message = clean(exc.message)[:200]
        return UpstreamFailure(upstream.name, f"answered an error ({exc.code}: {message})")
    if isinstance(exc, ValidationError | ValueError):
        logger.warning("upstream %s answered garbage: %s", upstream.name, type(exc).__name__)
        return UpstreamFailure(upstream.name, "sent an answer that is not valid MCP")
    logger.error("upstream %s failed", upstream.name, exc_info=exc)
    return UpstreamFailure(upstream.name, "failed")


def dump(model: Any) -> dict[str, Any]:
    """An SDK model in its wire form."""
    out: dict[str, Any] = model.model_dump(by_alias=True, exclude_none=True, mode="json")
    return out


def scrubbed(value: dict[str, Any], expanded: Expanded | None) -> dict[str, Any]:
    """``value`` with the secret values sent in ``expanded``'s headers replaced."""
    if expanded is None or not expanded.secrets:
        return value
    text = json.dumps(value)
    clean = expanded.scrub(text)
    return value if clean == text else dict(json.loads(clean))


class Deadline:
    """The time an upstream call may take; paused while the downstream client is asked for
    input (a person answering an elicitation is not the upstream being slow)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.scope = anyio.CancelScope()

    def __enter__(self) -> Deadline:
        self.scope.__enter__()
        self.scope.deadline = anyio.current_time() + self.seconds
        return self

    def __exit__(self, *exc: Any) -> bool:
        return bool(self.scope.__exit__(*exc))

    def pause(self) -> None:
        self.scope.deadline = math.inf

    def resume(self) -> None:
        self.scope.deadline = anyio.current_time() + self.seconds

    @property
    def expired(self) -> bool:
        return self.scope.cancelled_caught


def _client_info() -> types.Implementation:
    return types.Implementation(
        name=f"{SERVER_INFO['name']} gateway", version=SERVER_INFO["version"]
    )


@asynccontextmanager
async def connect(
    upstream: UpstreamConfig,
    *,
    tenant_id: int,
    mode: str = "auto",
    discover: dict[str, Any] | None = None,
    on_notification: OnNotification | None = None,
    callbacks: dict[str, Any] | None = None,
) -> AsyncIterator[tuple[Client, Expanded]]:
    """A connected SDK client (handshake or discover done) and the expanded headers (for
    scrubbing what the upstream answers)."""
    expanded = await aexpand_headers(dict(upstream.headers), tenant_id=tenant_id)
    http = guarded_async_client(
        policy=policy_for(upstream), headers=expanded.headers, read_timeout=upstream.timeout + 1.0
    )

    async def handler(message: Any) -> None:
        if on_notification is not None and not isinstance(message, Exception):
            await on_notification(message)

    prior = types.DiscoverResult.model_validate(discover) if discover and mode != "legacy" else None
    async with http:
        transport = streamable_http_client(upstream.url, http_client=http)
        client = Client(
            transport,
            mode=mode if mode == "legacy" or prior is not None else "auto",
            prior_discover=prior,
            cache=None,
            read_timeout_seconds=upstream.timeout,
            client_info=_client_info(),
            message_handler=handler,
            **(callbacks or {}),
        )
        async with client:
            yield client, expanded
