"""A tenant's own tools as the request path sees them: frozen, with revisions to cache by.

The tenant configuration cache (``tenants.auth.tenantcache``) stores ``snapshot(tenant)``
with the rest of the tenant, so a request learns of its tenant's upstream servers and HTTP
tools without a query, and the change of one (which clears ``tenantconf:<id>`` on commit)
reaches every instance the way a change of its tool sets does. A tenant with none has
``own_tools`` None, and its requests take exactly the path they took before these existed.

Header templates are kept as templates: secret values are never part of a snapshot.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tenants.models import Tenant


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    id: int
    name: str
    url: str
    headers: tuple[tuple[str, str], ...]
    allow_private_network: bool
    timeout: float
    scopes: tuple[str, ...]
    # Changes with any field above: what was listed under one revision is not reused.
    rev: str


@dataclass(frozen=True, slots=True)
class HttpToolConfig:
    id: int
    name: str
    # The normalized specification as canonical JSON (hashable; parsed once per revision).
    spec_json: str
    rev: str

    @property
    def spec(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.spec_json)
        return parsed


@dataclass(frozen=True, slots=True)
class OwnTools:
    rev: str
    upstreams: tuple[UpstreamConfig, ...] = ()
    http_tools: tuple[HttpToolConfig, ...] = ()


def _upstream_fields(upstream: Any) -> dict[str, Any]:
    return {
        "id": upstream.pk,
        "name": upstream.name,
        "url": upstream.url,
        "headers": sorted(dict(upstream.headers or {}).items()),
        "allow_private_network": upstream.allow_private_network,
        "timeout": float(upstream.timeout),
        "scopes": sorted(upstream.scopes or ()),
    }


def snapshot(tenant: Tenant) -> dict[str, Any] | None:
    """The JSON kept in the tenant's cached configuration, or None when it has none."""
    from tenants.upstreams.httpspec import normalized_http_tool_spec

    upstreams = [_upstream_fields(u) for u in tenant.upstreams.filter(enabled=True)]
    tools = [
        {"id": t.pk, "name": t.name, "spec": normalized_http_tool_spec({**t.spec, "name": t.name})}
        for t in tenant.http_tools.filter(enabled=True)
    ]
    if not upstreams and not tools:
        return None
    return {"upstreams": upstreams, "http_tools": tools}


def from_snapshot(value: Any) -> OwnTools | None:
    if not isinstance(value, dict):
        return None
    upstreams = tuple(
        UpstreamConfig(
            **{
                **fields,
                "headers": tuple((str(k), str(v)) for k, v in fields["headers"]),
                "scopes": tuple(fields["scopes"]),
            },
            rev=_digest(fields),
        )
        for fields in value.get("upstreams") or ()
    )
    tools = tuple(
        HttpToolConfig(
            id=fields["id"],
            name=fields["name"],
            spec_json=json.dumps(fields["spec"], sort_keys=True, separators=(",", ":")),
            rev=_digest(fields),
        )
        for fields in value.get("http_tools") or ()
    )
    return OwnTools(rev=_digest(value), upstreams=upstreams, http_tools=tools)
