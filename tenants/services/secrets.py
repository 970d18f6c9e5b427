"""Changes to a tenant's sealed secrets; the audit record names the secret, never its value."""

import re

from django.core.exceptions import ValidationError
from django.db import transaction

from tenants import secrets
from tenants.audit import Actor, audit_record
from tenants.models import Tenant, TenantSecret

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


@transaction.atomic
def tenant_secret_set(*, tenant: Tenant, name: str, value: str, actor: Actor) -> TenantSecret:
    if not _NAME.match(name):
        raise ValidationError({"name": "Letters, digits and underscores, starting with a letter."})
    if not value:
        raise ValidationError({"value": "The secret is empty."})
    sealed = secrets.seal(tenant_id=tenant.pk, name=name, value=value)
    row, created = TenantSecret.objects.update_or_create(
        tenant=tenant, name=name, defaults={"sealed": sealed}
    )
    audit_record(
        actor=actor,
        action="tenant_secret.create" if created else "tenant_secret.update",
        tenant=tenant,
        target=name,
    )
    return row
