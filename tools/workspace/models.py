"""Requirements and their tasks, per tenant. Every change goes through ``services``.

The tenant foreign key is PROTECT: requirements are the customer's own work, and deleting a
tenant (which this project never does itself: tenants are suspended) must not erase them as a
side effect; whoever really means it deletes them first. Tasks and repository links CASCADE
from their requirement: they mean nothing without it.
"""

from django.core.validators import RegexValidator
from django.db import models

from tenants.models import Tenant
from tools.workspace import ids

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
SUBJECT_MAX = 200
REPOSITORY_MAX = 200
REPOSITORIES_PER_REQUIREMENT = 20

validate_repository = RegexValidator(
    r"^[A-Za-z0-9._~/:@+-]{1,200}$",
    "A repository is a name such as acme/api or github.com/acme/api (no spaces).",
    code="invalid_repository",
)


class Requirement(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    public_id = models.CharField(
        max_length=16, unique=True, editable=False, default=ids.new_requirement_id
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="requirements")
    title = models.CharField(max_length=TITLE_MAX)
    description = models.TextField(max_length=DESCRIPTION_MAX, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    owner = models.CharField(max_length=SUBJECT_MAX, blank=True, help_text="A subject.")
    created_by = models.CharField(max_length=SUBJECT_MAX, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["tenant", "status"]),
            models.Index(fields=["tenant", "created_at"]),
            models.Index(fields=["tenant", "updated_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.public_id}: {self.title}"

    @property
    def uri(self) -> str:
        """The resource that shows this requirement (and what subscribers watch)."""
        return f"workspace://requirements/{self.public_id}"


class RequirementRepository(models.Model):
    """One repository a requirement touches; a row each, so "which requirements touch X" is
    an indexed lookup on every database (SQLite has no JSON containment)."""

    requirement = models.ForeignKey(
        Requirement, on_delete=models.CASCADE, related_name="repository_links"
    )
    name = models.CharField(max_length=REPOSITORY_MAX, validators=[validate_repository])

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=["requirement", "name"], name="workspace_repository_once_per_requirement"
            )
        ]
        indexes = [models.Index(fields=["name"])]
        verbose_name = "repository"

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    class Status(models.TextChoices):
        TODO = "todo", "To do"
        IN_PROGRESS = "in_progress", "In progress"
        BLOCKED = "blocked", "Blocked"
        DONE = "done", "Done"

    public_id = models.CharField(
        max_length=20, unique=True, editable=False, default=ids.new_task_id
    )
    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=TITLE_MAX)
    description = models.TextField(max_length=DESCRIPTION_MAX, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TODO)
    assignee = models.CharField(max_length=SUBJECT_MAX, blank=True, help_text="A subject.")
    created_by = models.CharField(max_length=SUBJECT_MAX, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.public_id}: {self.title}"
