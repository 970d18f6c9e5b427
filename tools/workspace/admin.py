"""Requirements and tasks in Django admin, by tenant. Changes go through the services, so an
edit here is audited and reaches subscribers like one made by a tool; nothing is deleted
(cancel a requirement instead)."""

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from tenants.audit import Actor
from tools.workspace import services
from tools.workspace.models import Requirement, Task


class TaskInline(admin.TabularInline):
    model = Task
    fields = ("public_id", "title", "status", "assignee", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Requirement)
class RequirementAdmin(admin.ModelAdmin):
    list_display = ("public_id", "title", "tenant", "status", "priority", "owner", "updated_at")
    list_filter = ("tenant", "status", "priority")
    search_fields = ("public_id", "title", "description", "owner", "repository_links__name")
    list_select_related = ("tenant",)
    fields = (
        "public_id", "tenant", "title", "description", "status", "priority", "owner",
        "repositories", "created_by", "created_at", "updated_at",
    )  # fmt: skip
    readonly_fields = ("public_id", "repositories", "created_by", "created_at", "updated_at")
    inlines = (TaskInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Requirement | None = None) -> Any:
        return self.readonly_fields if obj is None else ("tenant", *self.readonly_fields)

    @admin.display(description="repositories")
    def repositories(self, obj: Requirement) -> str:
        return ", ".join(services.requirement_repositories(obj)) if obj.pk else "—"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: Requirement, form: ModelForm, change: bool
    ) -> None:
        actor = Actor.from_request(request)
        data = form.cleaned_data
        if change:
            saved = services.requirement_update(
                tenant_id=obj.tenant_id,
                public_id=obj.public_id,
                **{f: data[f] for f in ("title", "description", "status", "priority", "owner")},
                actor=actor,
            )
        else:
            saved = services.requirement_create(
                tenant_id=data["tenant"].pk,
                **{f: data[f] for f in ("title", "description", "status", "priority", "owner")},
                created_by=actor.name,
                actor=actor,
            )
        obj.pk, obj.public_id = saved.pk, saved.public_id


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("public_id", "title", "requirement", "tenant", "status", "assignee")
    list_filter = ("requirement__tenant", "status")
    search_fields = ("public_id", "title", "assignee", "requirement__public_id")
    list_select_related = ("requirement__tenant",)
    fields = (
        "public_id", "requirement", "title", "description", "status", "assignee",
        "created_by", "created_at", "updated_at",
    )  # fmt: skip
    readonly_fields = (
        "public_id", "requirement", "title", "description", "assignee", "created_by",
        "created_at", "updated_at",
    )  # fmt: skip

    @admin.display(description="tenant", ordering="requirement__tenant__slug")
    def tenant(self, obj: Task) -> str:
        return obj.requirement.tenant.slug

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tasks belong to a requirement: created with create_task

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Task, form: ModelForm, change: bool) -> None:
        services.task_update_status(
            tenant_id=obj.requirement.tenant_id,
            task_id=obj.public_id,
            status=form.cleaned_data["status"],
            actor=Actor.from_request(request),
        )
