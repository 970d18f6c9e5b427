"""Upstream MCP servers and HTTP tools attached to a tenant: create, change, enable, disable.

Each change clears the tenant's cached configuration on every instance (where the request
path finds them: ``tenants.upstreams.config``) and tells its listening clients the tool list
changed. Audit rows name header fields, never their values, and URLs without their query.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tenants import catalogue
from tenants.audit import Actor, audit_record
from tenants.auth.revocation import clear_groups_on_commit
from tenants.models import HttpTool, Tenant, Upstream
from tenants.outbound import safe_url
from tenants.signals import tools_changed_on_commit
from tenants.upstreams.httpspec import normalized_http_tool_spec

UPSTREAM_FIELDS = ("url", "headers", "allow_private_network", "timeout", "scopes", "enabled")


def _changed(tenant: Tenant) -> None:
    clear_groups_on_commit(f"tenantconf:{tenant.pk}")
    tools_changed_on_commit(tenant.pk)


def _upstream_details(upstream: Upstream) -> dict[str, Any]:
    return {
        "url": safe_url(upstream.url),
        "header_names": sorted(upstream.headers or {}),
        "allow_private_network": upstream.allow_private_network,
        "timeout": upstream.timeout,
        "scopes": list(upstream.scopes or ()),
        "enabled": upstream.enabled,
    }


def _save_new(row: Upstream | HttpTool, what: str) -> None:
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as exc:  # lost a race with another creator of the same name
        raise ValidationError({"name": f"This tenant already has {what} of this name."}) from exc


@transaction.atomic
def upstream_create(
    *,
    tenant: Tenant,
    name: str,
    url: str,
    headers: dict[str, str] | None = None,
    allow_private_network: bool = False,
    timeout: float = 30.0,
    scopes: list[str] | None = None,
    actor: Actor,
) -> Upstream:
    upstream = Upstream(
        tenant=tenant,
        name=name,
        url=url,
        headers=dict(headers or {}),
        allow_private_network=allow_private_network,
        timeout=timeout,
        scopes=list(scopes or ()),
        created_by=actor.name[:200],
    )
    upstream.full_clean(validate_unique=False)
    if Upstream.objects.filter(tenant=tenant, name=name).exists():
        raise ValidationError({"name": f"Tenant {tenant.slug} already has an upstream {name!r}."})
    _save_new(upstream, "an upstream")
    audit_record(
        actor=actor,
        action="upstream.create",
        tenant=tenant,
        target=name,
        details=_upstream_details(upstream),
    )
    _changed(tenant)
    return upstream


@transaction.atomic
def upstream_update(*, upstream: Upstream, changes: dict[str, Any], actor: Actor) -> Upstream:
    """Change any of ``UPSTREAM_FIELDS`` (``enabled`` included)."""
    unknown = sorted(set(changes) - set(UPSTREAM_FIELDS))
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(unknown)} of an upstream.")
    locked = Upstream.objects.select_for_update().select_related("tenant").get(pk=upstream.pk)
    before, before_headers = _upstream_details(locked), dict(locked.headers or {})
    for field, value in changes.items():
        setattr(locked, field, value)
    locked.full_clean(validate_unique=False)
    after = _upstream_details(locked)
    headers_changed = dict(locked.headers or {}) != before_headers
    if after == before and not headers_changed:
        return locked
    locked.save()
    audit_record(
        actor=actor,
        action="upstream.update",
        tenant=locked.tenant,
        target=locked.name,
        # Header values are templates, but an operator may have typed anything: names only.
        details={"before": before, "after": after, "headers_changed": headers_changed},
    )
    _changed(locked.tenant)
    return locked


def _static_tool_names() -> set[str]:
    return {tool.name for info in catalogue.toolsets_by_name().values() for tool in info.tools}


@transaction.atomic
def http_tool_create(*, tenant: Tenant, spec: dict[str, Any], actor: Actor) -> HttpTool:
    """A tool calling an HTTP API, from its JSON specification (``tenants.upstreams.httpspec``)."""
    normalized = normalized_http_tool_spec(spec)
    name = normalized["name"]
    if name in _static_tool_names():
        raise ValidationError({"name": f"A registered tool set already has a tool {name!r}."})
    if HttpTool.objects.filter(tenant=tenant, name=name).exists():
        raise ValidationError({"name": f"Tenant {tenant.slug} already has an HTTP tool {name!r}."})
    tool = HttpTool(tenant=tenant, name=name, spec=normalized, created_by=actor.name[:200])
    tool.full_clean(validate_unique=False)
    _save_new(tool, "an HTTP tool")
    audit_record(
        actor=actor,
        action="http_tool.create",
        tenant=tenant,
        target=name,
        details=_http_tool_details(normalized),
    )
    _changed(tenant)
    return tool


def _http_tool_details(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "method": spec["method"],
        "url": safe_url(spec["url"]),
        "header_names": sorted(spec["headers"]),
        "allow_private_network": spec["allow_private_network"],
    }


@transaction.atomic
def http_tool_update(
    *, tool: HttpTool, spec: dict[str, Any] | None = None, enabled: bool | None = None, actor: Actor
) -> HttpTool:
    """Replace the specification (its name stays) and/or enable or disable the tool."""
    locked = HttpTool.objects.select_for_update().select_related("tenant").get(pk=tool.pk)
    changes: dict[str, Any] = {}
    if spec is not None:
        normalized = normalized_http_tool_spec({**spec, "name": locked.name})
        if normalized != locked.spec:
            changes["spec"] = _http_tool_details(normalized)
            locked.spec = normalized
    if enabled is not None and enabled != locked.enabled:
        changes["enabled"] = enabled
        locked.enabled = enabled
    if not changes:
        return locked
    locked.full_clean(validate_unique=False)
    locked.save()
    audit_record(
        actor=actor,
        action="http_tool.update",
        tenant=locked.tenant,
        target=locked.name,
        details=changes,
    )
    _changed(locked.tenant)
    return locked
