"""Behaviour the tenants app's admin pages share."""

from typing import Any

from django.http import HttpRequest, HttpResponse


class NoDeleteMixin:
    """Records referenced by the audit log are suspended, disabled or revoked, not deleted."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyChangePageMixin:
    """A change page on which nothing can change shows no Save buttons (list actions, such as
    revoking, still work from the list)."""

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        hidden = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(  # type: ignore[misc]
            request, object_id, form_url, {**hidden, **(extra_context or {})}
        )
