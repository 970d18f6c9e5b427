"""One JSON-RPC request on its way to a handler: who asks, in which era, and how to talk back.

The endpoint and stdio build a ``Call``; the dispatcher and the method handlers know nothing
of HTTP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mcpserver.eras import META_CAPABILITIES, META_LOG_LEVEL, Era
from mcpserver.observability.requests import Observed
from mcpserver.protocol.jsonrpc import Message
from tenants.principal import Principal
from tenants.snapshots import TenantView
from tools.context import LOG_LEVELS, Ask, Notify, ToolContext
from tools.registry import Catalogue, catalogue_for
from tools.upstream.catalogue import tenant_catalogue


async def _drop(method: str, params: dict[str, Any]) -> None:
    return None


@dataclass
class Call:
    tenant: TenantView
    principal: Principal
    toolsets: tuple[str, ...]
    era: Era
    message: Message
    client_ip: str | None = None
    # Session-era state (a JSON dict kept in the shared store), None when stateless.
    session: dict[str, Any] | None = None
    notify: Notify = _drop
    ask: Ask | None = None
    # The request's metrics (None over stdio).
    observed: Observed | None = None
    # A tenant with tools of its own (upstream servers, HTTP tools): its merged catalogue,
    # loaded by the dispatcher before the method runs (``load_catalogue``).
    own_catalogue: Catalogue | None = field(default=None, repr=False)
    # Session era: detach the request's reply (SEP-1699), when it can be resumed.
    detach: Callable[[], Awaitable[bool]] | None = None

    def __post_init__(self) -> None:
        self.params: dict[str, Any] = self.message.params or {}
        meta = self.params.get("_meta")
        self.meta: Mapping[str, Any] = meta if isinstance(meta, Mapping) else {}

    @property
    def stateless(self) -> bool:
        return self.era is Era.STATELESS

    @property
    def catalogue(self) -> Catalogue:
        if self.own_catalogue is not None:
            return self.own_catalogue
        return catalogue_for(self.toolsets, self.tenant.disabled_tools)

    async def load_catalogue(self) -> None:
        """Merge the tenant's own tools in (their listings may need fetching: async)."""
        if self.tenant.own_tools is not None and self.own_catalogue is None:
            static = catalogue_for(self.toolsets, self.tenant.disabled_tools)
            self.own_catalogue = await tenant_catalogue(self.tenant, static)

    def context(self) -> ToolContext:
        meta = self.meta
        if self.stateless:
            capabilities = meta.get(META_CAPABILITIES) or {}
            level = meta.get(META_LOG_LEVEL)
        else:
            session = self.session or {}
            capabilities = session.get("capabilities") or {}
            level = session.get("log_level")
        token = meta.get("progressToken")
        return ToolContext(
            principal=self.principal,
            era=self.era,
            client_capabilities=capabilities if isinstance(capabilities, Mapping) else {},
            progress_token=token if isinstance(token, str | int) else None,
            log_level=level if level in LOG_LEVELS else None,
            notify=self.notify,
            ask=self.ask,
            detach=self.detach,
        )
