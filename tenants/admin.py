"""Django admin for onboarding customers. Every change goes through tenants.services."""

from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from tenants import admin_usage, services
from tenants.admin_apikeys import api_key_state  # also registers ApiKeyAdmin
from tenants.admin_keys import key_status_html, report_key_check
from tenants.admin_mixins import NoDeleteMixin
from tenants.admin_oauth import BrokerClientAdmin  # noqa: F401 - registers the broker's admin
from tenants.admin_people import MembershipAdmin  # noqa: F401 - registers the people's admin
from tenants.admin_tools import TenantToolsAdminMixin, TenantToolsForm
from tenants.admin_upstreams import upstreams_html  # also registers the upstream admins
from tenants.audit import Actor
from tenants.forms import IdentityProviderForm
from tenants.models import AuditLog, IdentityProvider, Tenant


@admin.register(Tenant)
class TenantAdmin(NoDeleteMixin, TenantToolsAdminMixin, admin.ModelAdmin):
    form = TenantToolsForm
    list_display = ("slug", "name", "status", "toolsets", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "name")
    readonly_fields = (
        "status", "endpoint", "credentials", "usage", "upstreams", "created_at", "updated_at",
    )  # fmt: skip
    actions = ("suspend_tenants", "reactivate_tenants")

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> Any:
        if obj is None:
            return self.tools_readonly(obj)
        return ("slug", *self.readonly_fields, *self.tools_readonly(obj))

    def get_fields(self, request: HttpRequest, obj: Tenant | None = None) -> Any:
        limits = ("rate_limit_tenant", "rate_limit_credential")
        if obj is None:
            return ("slug", "name", "enabled_toolsets", "disabled_tools", "tool_catalogue", *limits)
        return (
            "slug", "name", "status", "endpoint", "credentials", "usage", "upstreams", "created_at",
            "updated_at", "enabled_toolsets", "disabled_tools", "tool_catalogue",
            "tools_list_preview", *limits,
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

    @admin.display(description="upstream servers and HTTP tools")
    def upstreams(self, obj: Tenant) -> str:
        return upstreams_html(obj)

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

    def response_add(self, request: HttpRequest, obj: Tenant, *args: Any) -> HttpResponse:
        """A new tenant leads to its own page, where onboarding continues (providers, keys)."""
        if "_addanother" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, *args)
        self.message_user(
            request,
            f"Tenant {obj.slug} created. Next: add its identity provider or create an API key.",
            messages.SUCCESS,
        )
        return redirect("admin:tenants_tenant_change", obj.pk)

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        actor = Actor.from_request(request)
        if change:
            # ``obj`` already holds the form's values: the services compare with what is stored.
            tenant = Tenant.objects.get(pk=obj.pk)
            services.tenant_update(tenant=tenant, name=form.cleaned_data["name"], actor=actor)
            self.save_tools(tenant, form, actor)
        else:
            tenant = services.tenant_create(
                slug=obj.slug,
                name=obj.name,
                toolsets=form.cleaned_data["enabled_toolsets"],
                actor=actor,
            )
            if form.cleaned_data.get("disabled_tools"):
                self.save_tools(tenant, form, actor)
            obj.pk, obj.created_at = tenant.pk, tenant.created_at
        tenant = services.tenant_set_rate_limits(
            tenant=tenant,
            tenant_limit=form.cleaned_data["rate_limit_tenant"],
            credential_limit=form.cleaned_data["rate_limit_credential"],
            actor=actor,
        )
        obj.updated_at = tenant.updated_at

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
    list_display = ("issuer", "tenant", "enabled", "algorithm_list", "signing_keys")
    list_filter = ("enabled", "tenant")
    search_fields = ("issuer", "tenant__slug", "tenant__name")
    list_select_related = ("tenant",)
    readonly_fields = ("signing_keys",)
    actions = ("enable_providers", "disable_providers")
    change_form_template = "admin/tenants/identityprovider/change_form.html"

    @admin.display(description="algorithms")
    def algorithm_list(self, obj: IdentityProvider) -> str:
        return ", ".join(obj.algorithms)

    @admin.display(description="signing keys")
    def signing_keys(self, obj: IdentityProvider) -> str:
        return key_status_html(obj)

    def get_urls(self) -> list[Any]:
        test = self.admin_site.admin_view(self.test_connection)
        return [
            path("<int:object_id>/test-connection/", test, name="tenants_identityprovider_test"),
            *super().get_urls(),
        ]

    def test_connection(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Fetch the provider's discovery document and keys now, and say what was found."""
        provider = IdentityProvider.objects.select_related("tenant").filter(pk=object_id).first()
        if request.method != "POST" or provider is None:
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request, provider):
            raise PermissionDenied
        report_key_check(self, request, provider)
        return redirect("admin:tenants_identityprovider_change", provider.pk)

    def response_add(self, request: HttpRequest, obj: IdentityProvider, *args: Any) -> HttpResponse:
        report_key_check(self, request, obj)
        return super().response_add(request, obj, *args)

    def response_change(self, request: HttpRequest, obj: IdentityProvider) -> HttpResponse:
        report_key_check(self, request, obj)
        return super().response_change(request, obj)

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
