"""Tenant secrets: set (or replace) and delete. The value is sealed before it is stored, and
appears in no audit row, log line or error message; ``tenants.secrets`` reads it back for
outbound requests only."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from tenants import secrets
from tenants.audit import Actor, audit_record
from tenants.auth.revocation import clear_groups_on_commit
from tenants.models import Tenant, TenantSecret
from tenants.signals import tools_changed_on_commit
from tenants.upstreams.spec import validate_secret_name, validate_secret_value


def upstream_listings_group(tenant_id: int) -> str:
    """The store group of every upstream listing of a tenant (``tools.upstream.listing``):
    a changed secret may turn a failing listing into a working one, or the reverse."""
    return f"upstreams:{tenant_id}"


def _after_secret_change(tenant: Tenant) -> None:
    if tenant.upstreams.filter(enabled=True).exists():
        clear_groups_on_commit(upstream_listings_group(tenant.pk))
        tools_changed_on_commit(tenant.pk)


@transaction.atomic
def tenant_secret_set(*, tenant: Tenant, name: str, value: str, actor: Actor) -> TenantSecret:
    """Set the tenant's secret ``name`` to ``value``, replacing any earlier value."""
    validate_secret_name(name)
    validate_secret_value(value)
    sealed = secrets.seal(tenant_id=tenant.pk, name=name, value=value)
    # Four characters of a short secret say too much about it: shown only from 16 up.
    last_four = value[-4:] if len(value) >= 16 else ""
    now = timezone.now()
    fields = {"sealed": sealed, "last_four": last_four, "set_by": actor.name[:200], "set_at": now}
    row = TenantSecret.objects.select_for_update().filter(tenant=tenant, name=name).first()
    replaced = row is not None
    if row is None:
        row = TenantSecret(tenant=tenant, name=name, **fields)
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError as exc:  # another writer created it meanwhile
            raise ValidationError({"name": "This secret was just set by someone else."}) from exc
    else:
        for field, value_ in fields.items():
            setattr(row, field, value_)
        row.save(update_fields=list(fields))
    audit_record(
        actor=actor,
        action="tenant_secret.set",
        tenant=tenant,
        target=name,
        details={"replaced": replaced},
    )
    _after_secret_change(tenant)
    return row


@transaction.atomic
def tenant_secret_delete(*, tenant: Tenant, name: str, actor: Actor) -> bool:
    deleted, _ = TenantSecret.objects.filter(tenant=tenant, name=name).delete()
    if not deleted:
        return False
    audit_record(actor=actor, action="tenant_secret.delete", tenant=tenant, target=name)
    _after_secret_change(tenant)
    return True
