"""API keys in the admin: created through the service, shown once after a redirect.

After the POST that creates a key, the raw key is sealed with the store's key ring (bound to
the admin user's session and the key's id) and kept in that session only until the page after
the redirect shows it: reloading that page, or the POST, never creates a second key and never
shows the key again. Nothing holds the key in clear but that one response.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from sessions_store.crypto import get_keyring
from tenants import services
from tenants.admin_mixins import NoDeleteMixin, ReadOnlyChangePageMixin
from tenants.audit import Actor
from tenants.forms import ApiKeyCreateForm
from tenants.models import ApiKey

_SESSION_PREFIX = "created_api_key:"


def api_key_state(key: ApiKey) -> str:
    if key.is_revoked:
        return "revoked"
    if key.is_expired:
        return "expired"
    return "active"


class ApiKeyStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("active", "Active"), ("revoked", "Revoked"))

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "active":
            return queryset.usable()
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


def _aad(request: HttpRequest, key: ApiKey) -> bytes:
    return f"admin-created-key|{request.session.session_key}|{key.public_id}".encode()


def _hold_for_display(request: HttpRequest, key: ApiKey, raw: str) -> None:
    if request.session.session_key is None:
        request.session.save()
    sealed = get_keyring().seal(raw.encode(), aad=_aad(request, key))
    request.session[_SESSION_PREFIX + key.public_id] = base64.b64encode(sealed).decode()


def _take_for_display(request: HttpRequest, key: ApiKey) -> str | None:
    held = request.session.pop(_SESSION_PREFIX + key.public_id, None)
    if not isinstance(held, str):
        return None
    opened = get_keyring().open(base64.b64decode(held), aad=_aad(request, key))
    return None if opened is None else opened.decode()


def client_configuration(slug: str, endpoint: str, raw: str) -> dict[str, str]:
    """Ready-to-paste configuration for the clients people use, each in its own shape."""
    header = f"Bearer {raw}"
    servers = {slug: {"type": "http", "url": endpoint, "headers": {"Authorization": header}}}
    vscode = {"servers": {slug: {**servers[slug]}}}
    return {
        "claude_code": (
            f'claude mcp add --transport http {slug} {endpoint} --header "Authorization: {header}"'
        ),
        "mcp_servers": json.dumps({"mcpServers": servers}, indent=2),
        "vscode": json.dumps(vscode, indent=2),
    }


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyChangePageMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = ("name", "tenant", "hint", "state", "scope_list", "last_used_at")
    list_filter = (ApiKeyStateFilter, "tenant")
    search_fields = ("name", "public_id", "tenant__slug")
    list_select_related = ("tenant",)
    actions = ("revoke_keys",)
    readonly_fields = (
        "tenant", "name", "public_id", "hint", "scope_list", "state", "expires_at",
        "revoked_at", "last_used_at", "created_by", "created_at",
    )  # fmt: skip

    def get_form(
        self, request: HttpRequest, obj: Any | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return ("tenant", "name", "scopes", "expires_at") if obj is None else self.readonly_fields

    @admin.display(description="key")
    def hint(self, obj: ApiKey) -> str:
        return obj.display_hint

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return " ".join(obj.scopes) or "—"

    @admin.display(description="state")
    def state(self, obj: ApiKey) -> str:
        return api_key_state(obj)

    def get_urls(self) -> list[Any]:
        created = self.admin_site.admin_view(self.created_view)
        return [
            path("<int:object_id>/created/", created, name="tenants_apikey_created"),
            *super().get_urls(),
        ]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:  # keys are immutable once created: revoke and create another
            return
        data = form.cleaned_data
        key, raw = services.api_key_create(
            tenant=data["tenant"],
            name=data["name"],
            scopes=data["scopes"],
            expires_at=data["expires_at"],
            actor=Actor.from_request(request),
        )
        obj.pk, obj.public_id, obj.last_four = key.pk, key.public_id, key.last_four
        _hold_for_display(request, key, raw)

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        # POST, then redirect, then GET: a reload repeats the GET, never the creation.
        return redirect("admin:tenants_apikey_created", obj.pk)

    def created_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        key = get_object_or_404(ApiKey.objects.select_related("tenant"), pk=object_id)
        if not self.has_view_permission(request, key):
            return redirect("admin:index")
        raw = _take_for_display(request, key)
        endpoint = key.tenant.resource_identifier
        context = {
            **self.admin_site.each_context(request),
            "title": "API key created" if raw else "API key",
            "opts": self.opts,
            "key": key,
            "raw_key": raw,
            "endpoint": endpoint,
            "config": client_configuration(key.tenant.slug, endpoint, raw) if raw else None,
            "list_url": reverse("admin:tenants_apikey_changelist"),
            "change_url": reverse("admin:tenants_apikey_change", args=[key.pk]),
            "tenant_url": reverse("admin:tenants_tenant_change", args=[key.tenant_id]),
        }
        response = TemplateResponse(request, "admin/tenants/apikey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected API keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        actor = Actor.from_request(request)
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            services.api_key_revoke(key=key, actor=actor)
            count += 1
        self.message_user(request, f"Revoked {count} API key(s).", messages.SUCCESS)
