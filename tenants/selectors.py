"""Reads of tenants and credentials used by commands, the admin and the authenticator."""

from django.db.models import QuerySet

from tenants.models import ApiKey, AuditLog, Tenant


def tenant_get(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()


def api_key_get(*, public_id: str) -> ApiKey | None:
    return ApiKey.objects.select_related("tenant").filter(public_id=public_id).first()


def api_key_get_by_digest(*, digest: str) -> ApiKey | None:
    return ApiKey.objects.select_related("tenant").filter(digest=digest).first()


def audit_log_for_tenant(*, tenant: Tenant) -> QuerySet[AuditLog]:
    return AuditLog.objects.filter(tenant=tenant)
