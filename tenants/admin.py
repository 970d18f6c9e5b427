"""Django admin for onboarding customers. Every change goes through tenants.services."""

from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from tenants import admin_usage, services
from tenants.audit import Actor
from tenants.forms import ApiKeyCreateForm, IdentityProviderForm, TenantForm
from tenants.models import ApiKey, AuditLog, IdentityProvider, Tenant


class NoDeleteMixin:
    """Records referenced by the audit log are suspended, disabled or revoked, not deleted."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Tenant)
class TenantAdmin(NoDeleteMixin, admin.ModelAdmin):
    form = TenantForm
    list_display = ("slug", "name", "status", "toolsets", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "name")
    readonly_fields = ("status", "endpoint", "credentials", "usage", "created_at", "updated_at")
    actions = ("suspend_tenants", "reactivate_tenants")

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> Any:
        if obj is None:
            return ()
        return ("slug", *self.readonly_fields)

    def get_fields(self, request: HttpRequest, obj: Tenant | None = None) -> Any:
        if obj is None:
            return ("slug", "name", "enabled_toolsets")
        return (
            "slug", "name", "status", "enabled_toolsets", "endpoint", "credentials", "usage",
            "created_at", "updated_at",
        )  # fmt: skip

    @admin.display(description="tool sets")
    def toolsets(self, obj: Tenant) -> str:
        return ", ".join(obj.enabled_toolsets) or "—"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(partial(admin_usage.usage_view, self))
        own = [path("<str:object_id>/usage/", view, name="tenants_tenant_usage")]
        return own + super().get_urls()

    @admin.display(description="tool usage")
    def usage(self, obj: Tenant) -> str:
        url = reverse("admin:tenants_tenant_usage", args=[obj.pk])
        return format_html("<a href='{}'>Calls per tool and day, errors, slowest tools</a>", url)

    @admin.display(description="MCP endpoint")
    def endpoint(self, obj: Tenant) -> str:
        return obj.resource_identifier

    @admin.display(description="identity providers and API keys")
    def credentials(self, obj: Tenant) -> str:
        providers = obj.identity_providers.all()
        keys = obj.api_keys.all()
        add_idp = reverse("admin:tenants_identityprovider_add") + f"?tenant={obj.pk}"
        add_key = reverse("admin:tenants_apikey_add") + f"?tenant={obj.pk}"
        idp_list = format_html_join(
            "",
            "<li>{} {}</li>",
            ((p.issuer, "" if p.enabled else "(disabled)") for p in providers),
        )
        key_list = format_html_join(
            "",
            "<li>{} <code>{}</code> ({})</li>",
            ((k.name, k.public_id, api_key_state(k)) for k in keys),
        )
        none = format_html("<li>{}</li>", "none yet")
        return format_html(
            "<strong>Identity providers</strong><ul>{}</ul><p><a href='{}'>Add identity provider"
            "</a></p><strong>API keys</strong><ul>{}</ul><p><a href='{}'>Create API key</a></p>",
            idp_list or none, add_idp, key_list or none, add_key,
        )  # fmt: skip

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        actor = Actor.from_request(request)
        if change:
            services.tenant_update(
                tenant=obj,
                name=form.cleaned_data["name"],
                toolsets=form.cleaned_data["enabled_toolsets"],
                actor=actor,
            )
            return
        tenant = services.tenant_create(
            slug=obj.slug,
            name=obj.name,
            toolsets=form.cleaned_data["enabled_toolsets"],
            actor=actor,
        )
        obj.pk, obj.created_at, obj.updated_at = tenant.pk, tenant.created_at, tenant.updated_at

    @admin.action(description="Suspend selected tenants")
    def suspend_tenants(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        actor = Actor.from_request(request)
        for tenant in queryset:
            services.tenant_suspend(tenant=tenant, actor=actor)
        self.message_user(request, f"Suspended {queryset.count()} tenant(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected tenants")
    def reactivate_tenants(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        actor = Actor.from_request(request)
        for tenant in queryset:
            services.tenant_reactivate(tenant=tenant, actor=actor)
        self.message_user(request, f"Reactivated {queryset.count()} tenant(s).", messages.SUCCESS)


@admin.register(IdentityProvider)
class IdentityProviderAdmin(NoDeleteMixin, admin.ModelAdmin):
    form = IdentityProviderForm
    list_display = ("issuer", "tenant", "enabled", "algorithm_list", "effective_audience")
    list_filter = ("enabled", "tenant")
    search_fields = ("issuer", "tenant__slug", "tenant__name")
    list_select_related = ("tenant",)
    actions = ("enable_providers", "disable_providers")

    @admin.display(description="algorithms")
    def algorithm_list(self, obj: IdentityProvider) -> str:
        return ", ".join(obj.algorithms)

    def save_model(
        self, request: HttpRequest, obj: IdentityProvider, form: Any, change: bool
    ) -> None:
        actor = Actor.from_request(request)
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            services.identity_provider_update(provider=obj, changes=changes, actor=actor)
            return
        data = form.cleaned_data
        provider = services.identity_provider_create(
            tenant=data["tenant"],
            issuer=data["issuer"],
            jwks_uri=data["jwks_uri"],
            audience=data["audience"],
            algorithms=list(data["algorithms"]),
            org_claim=data["org_claim"],
            org_value=data["org_value"],
            scopes_claim=data["scopes_claim"],
            allow_private_network=data["allow_private_network"],
            actor=actor,
        )
        if not data["enabled"]:
            services.identity_provider_set_enabled(provider=provider, enabled=False, actor=actor)
        obj.pk = provider.pk

    def _set_enabled(self, request: HttpRequest, queryset: Any, *, enabled: bool) -> None:
        actor = Actor.from_request(request)
        for provider in queryset.select_related("tenant"):
            services.identity_provider_set_enabled(provider=provider, enabled=enabled, actor=actor)
        verb = "Enabled" if enabled else "Disabled"
        self.message_user(request, f"{verb} {queryset.count()} identity provider(s).")

    @admin.action(description="Enable selected identity providers")
    def enable_providers(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable selected identity providers")
    def disable_providers(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, enabled=False)


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


@admin.register(ApiKey)
class ApiKeyAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = (
        "name", "public_id", "tenant", "hint", "scope_list", "state", "expires_at",
        "last_used_at", "created_at",
    )  # fmt: skip
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
        # The raw key lives only in this request: shown on the response, stored nowhere.
        request._created_api_key = raw  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        raw = getattr(request, "_created_api_key", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "API key created",
            "opts": self.opts,
            "key": obj,
            "raw_key": raw,
            "endpoint": obj.tenant.resource_identifier,
            "list_url": reverse("admin:tenants_apikey_changelist"),
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


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("time", "tenant", "actor", "action", "target", "outcome", "client_ip")
    list_filter = ("outcome", "action", "tenant", "time")
    search_fields = ("actor", "action", "target", "request_id", "tenant__slug")
    date_hierarchy = "time"
    list_select_related = ("tenant",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
