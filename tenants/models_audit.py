"""The append-only audit log and the heads of its hash chains (``tenants.auditchain``)."""

from typing import Any, ClassVar, NoReturn

from django.db import models
from django.utils import timezone

from tenants.models import Tenant


class AuditLogQuerySet(models.QuerySet["AuditLog"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("The audit log is append-only.")

    def delete(self) -> NoReturn:
        raise PermissionError("The audit log is append-only.")


class AuditLog(models.Model):
    """One audited action. Rows are written by services and never changed or removed."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"
        CANCELLED = "cancelled", "Cancelled"

    time = models.DateTimeField(default=timezone.now, db_index=True)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_logs"
    )
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=100, db_index=True)
    target = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # A record delivered more than once (a tool call's record replayed from the stream) is
    # written once: its server-made id is unique. Service rows have none.
    event_id = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    # The tenant's hash chain (tenants.auditchain): position, and the digests linking rows.
    seq = models.BigIntegerField(editable=False)
    prev_digest = models.CharField(max_length=64, editable=False)
    digest = models.CharField(max_length=64, editable=False)

    objects: ClassVar[models.Manager["AuditLog"]] = AuditLogQuerySet.as_manager()

    class Meta:
        ordering = ("-time", "-id")
        indexes = [
            models.Index(fields=("tenant", "-time"), name="audit_tenant_time"),
            models.Index(fields=("tenant", "action", "time"), name="audit_tenant_action_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=("tenant", "seq"),
                condition=models.Q(tenant__isnull=False),
                name="audit_unique_seq_per_tenant",
            ),
            models.UniqueConstraint(
                fields=("seq",),
                condition=models.Q(tenant__isnull=True),
                name="audit_unique_seq_without_tenant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.action} {self.target} ({self.outcome})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("The audit log is append-only.")


class AuditChainHead(models.Model):
    """The last link of one audit chain (a tenant's, or ``-`` for rows without a tenant).

    Writers lock it (``select_for_update``) before appending, so concurrent writers queue up
    instead of forking the chain.
    """

    chain = models.CharField(max_length=32, unique=True)
    seq = models.BigIntegerField(default=0)
    digest = models.CharField(max_length=64, default="")
    # Retention trims rows from the chain's start: the last trimmed row's seq and digest,
    # where verification starts instead of the genesis (0 and "": nothing trimmed).
    anchor_seq = models.BigIntegerField(default=0)
    anchor_digest = models.CharField(max_length=64, default="")

    def __str__(self) -> str:
        return f"chain {self.chain} at {self.seq}"
