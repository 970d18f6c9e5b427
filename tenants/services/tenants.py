"""Changes to tenants: creation, name, tool selection, rate limits, suspension."""

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from mcpserver.conf import mcp_settings
from tenants import catalogue
from tenants.audit import Actor, audit_record
from tenants.auth.revocation import clear_groups_on_commit
from tenants.auth.tenantcache import slug_group
from tenants.models import Tenant
from tenants.signals import tools_changed_on_commit


@transaction.atomic
def tenant_create(
    *, slug: str, name: str, toolsets: list[str] | None = None, actor: Actor
) -> Tenant:
    tenant = Tenant(
        slug=slug,
        name=name,
        enabled_toolsets=list(mcp_settings.DEFAULT_TOOLSETS if toolsets is None else toolsets),
    )
    tenant.full_clean()
    catalogue.check_selection(toolsets=tenant.enabled_toolsets, new_tools=())
    try:
        with transaction.atomic():
            tenant.save()
    except IntegrityError as exc:  # lost a race with another creator of the same slug
        raise ValidationError({"slug": "A tenant with this slug already exists."}) from exc
    audit_record(
        actor=actor,
        action="tenant.create",
        tenant=tenant,
        target=tenant.slug,
        details={"name": name, "toolsets": tenant.enabled_toolsets},
    )
    # Instances that were asked for this slug before it existed stop answering 404 at once.
    clear_groups_on_commit(slug_group(tenant.slug))
    return tenant


@transaction.atomic
def tenant_update(
    *, tenant: Tenant, name: str | None = None, toolsets: list[str] | None = None, actor: Actor
) -> Tenant:
    changes: dict[str, Any] = {}
    if name is not None and name != tenant.name:
        changes["name"] = name
    if toolsets is not None and toolsets != tenant.enabled_toolsets:
        changes["toolsets"] = toolsets
    if not changes:
        return tenant
    previously_enabled = list(tenant.enabled_toolsets)
    tenant.name = changes.get("name", tenant.name)
    tenant.enabled_toolsets = changes.get("toolsets", tenant.enabled_toolsets)
    tenant.full_clean()
    catalogue.check_selection(
        toolsets=tenant.enabled_toolsets, new_tools=(), previously_enabled=previously_enabled
    )
    tenant.save(update_fields=["name", "enabled_toolsets", "updated_at"])
    audit_record(
        actor=actor, action="tenant.update", tenant=tenant, target=tenant.slug, details=changes
    )
    clear_groups_on_commit(f"tenantconf:{tenant.pk}")
    if "toolsets" in changes:
        tools_changed_on_commit(tenant.pk)
    return tenant


@transaction.atomic
def tenant_set_rate_limits(
    *,
    tenant: Tenant,
    tenant_limit: str | None = None,
    credential_limit: str | None = None,
    actor: Actor,
) -> Tenant:
    """Set either limit ("N/PERIOD", "off", or "" for the server's default; None: unchanged).
    Every instance applies the change as soon as the tenant's cached configuration is cleared."""
    locked = Tenant.objects.select_for_update(no_key=True).get(pk=tenant.pk)
    wanted = {"rate_limit_tenant": tenant_limit, "rate_limit_credential": credential_limit}
    changes = {
        name: {"from": getattr(locked, name), "to": value.strip()}
        for name, value in wanted.items()
        if value is not None and value.strip() != getattr(locked, name)
    }
    if not changes:
        return locked
    for name, change in changes.items():
        setattr(locked, name, change["to"])
    locked.full_clean()
    locked.save(update_fields=[*changes, "updated_at"])
    audit_record(
        actor=actor, action="tenant.rate_limit", tenant=locked, target=locked.slug, details=changes
    )
    clear_groups_on_commit(f"tenantconf:{locked.pk}")
    tenant.rate_limit_tenant = locked.rate_limit_tenant
    tenant.rate_limit_credential = locked.rate_limit_credential
    return locked


@transaction.atomic
def tenant_set_tools(
    *,
    tenant: Tenant,
    toolsets: Sequence[str] | None = None,
    enable_tools: Sequence[str] = (),
    disable_tools: Sequence[str] = (),
    actor: Actor,
) -> Tenant:
    """Replace the enabled tool sets (``toolsets``, None: keep them) and enable or disable
    single tools on top of them. Every instance's ``tools/list`` follows on commit, and the
    tenant's listening clients are told the list changed."""
    locked = Tenant.objects.select_for_update(no_key=True).get(pk=tenant.pk)
    both = sorted(set(enable_tools) & set(disable_tools))
    if both:
        raise ValidationError({"disabled_tools": f"Both enabled and disabled: {', '.join(both)}."})
    before = {
        "toolsets": list(locked.enabled_toolsets),
        "disabled_tools": list(locked.disabled_tools),
    }
    enabled = set(enable_tools)
    disabled = {name for name in locked.disabled_tools if name not in enabled} | set(disable_tools)
    after = {
        "toolsets": before["toolsets"] if toolsets is None else list(toolsets),
        "disabled_tools": sorted(disabled),
    }
    # Only names new to this tenant are checked: one kept from before stays editable even if
    # the tool it named is gone.
    new_tools = [n for n in (*enable_tools, *disable_tools) if n not in locked.disabled_tools]
    locked.enabled_toolsets, locked.disabled_tools = after["toolsets"], after["disabled_tools"]
    locked.full_clean()
    catalogue.check_selection(
        toolsets=after["toolsets"],
        new_tools=new_tools,
        previously_enabled=before["toolsets"],
        own_tools=list(locked.http_tools.values_list("name", flat=True)),
    )
    if after != before:
        locked.save(update_fields=["enabled_toolsets", "disabled_tools", "updated_at"])
        audit_record(
            actor=actor,
            action="tenant.set_tools",
            tenant=locked,
            target=locked.slug,
            details={"before": before, "after": after},
        )
        clear_groups_on_commit(f"tenantconf:{locked.pk}")
        tools_changed_on_commit(locked.pk)
    tenant.enabled_toolsets, tenant.disabled_tools = locked.enabled_toolsets, locked.disabled_tools
    return locked


# Row locks here are FOR NO KEY UPDATE: a plain FOR UPDATE also blocks the KEY SHARE lock
# that inserting an audit row for the tenant takes, so an audit writer holding the chain
# head and a service holding the tenant row (and waiting for the head) deadlocked.
def _tenant_set_status(*, tenant: Tenant, status: str, action: str, actor: Actor) -> Tenant:
    locked = Tenant.objects.select_for_update(no_key=True).get(pk=tenant.pk)
    if locked.status == status:
        return locked
    locked.status = status
    locked.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action=action, tenant=locked, target=locked.slug)
    # Suspension drops every cached credential of the tenant; reactivation its config and
    # every instance's memory of the slug as unknown.
    clear_groups_on_commit(f"tenant:{locked.pk}", slug_group(locked.slug))
    tenant.status = locked.status
    return locked


@transaction.atomic
def tenant_suspend(*, tenant: Tenant, actor: Actor) -> Tenant:
    return _tenant_set_status(
        tenant=tenant, status=Tenant.Status.SUSPENDED, action="tenant.suspend", actor=actor
    )


@transaction.atomic
def tenant_reactivate(*, tenant: Tenant, actor: Actor) -> Tenant:
    return _tenant_set_status(
        tenant=tenant, status=Tenant.Status.ACTIVE, action="tenant.reactivate", actor=actor
    )
