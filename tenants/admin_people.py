"""Admin for members and for the portal sign-in of each tenant (secret through the service)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from mcpserver.conf import mcp_settings
from tenants import services
from tenants.admin_mixins import NoDeleteMixin
from tenants.audit import Actor
from tenants.models import Membership, PortalSignIn
from tenants.portal.backends import callback_path
from tenants.portal.oidc import SignInUnavailable, discover


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "tenant", "role", "subject", "created_at")
    list_filter = ("role", "tenant")
    search_fields = ("user__username", "user__email", "tenant__slug", "subject")
    list_select_related = ("user", "tenant")
    raw_id_fields = ("user",)

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        actor = Actor.from_request(request)
        if change:
            services.membership_set_role(membership=obj, role=obj.role, actor=actor)
        else:
            services.membership_add(
                tenant=obj.tenant, user=obj.user, role=obj.role, subject=obj.subject, actor=actor
            )

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.membership_remove(membership=obj, actor=Actor.from_request(request))


class PortalSignInForm(forms.ModelForm):
    client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored sealed as a tenant secret; leave blank to keep the current one.",
    )

    class Meta:
        model = PortalSignIn
        fields = (
            "tenant", "issuer", "client_id", "client_secret", "scopes", "admin_claim",
            "admin_value", "allow_private_network", "enabled",
        )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.instance.pk and not data.get("client_secret"):
            self.add_error("client_secret", "The client secret is required.")
        issuer = data.get("issuer")
        if issuer and not self.errors:
            try:
                self.endpoints = discover(
                    issuer, allow_private=bool(data.get("allow_private_network"))
                )
            except SignInUnavailable as exc:
                self.add_error("issuer", str(exc))
        return data


@admin.register(PortalSignIn)
class PortalSignInAdmin(NoDeleteMixin, admin.ModelAdmin):
    form = PortalSignInForm
    list_display = ("tenant", "issuer", "client_id", "mode", "enabled")
    actions = ("use_broker_mode", "use_direct_mode")
    readonly_fields = ("redirect_uri", "authorization_endpoint", "token_endpoint", "jwks_uri")

    @admin.display(description="Redirect URI to register at the provider")
    def redirect_uri(self, obj: PortalSignIn | None) -> str:
        return f"{mcp_settings.PUBLIC_URL}{callback_path()}"

    def save_model(self, request: HttpRequest, obj: PortalSignIn, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = services.portal_sign_in_set(
            tenant=data["tenant"],
            issuer=data["issuer"],
            client_id=data["client_id"],
            client_secret=data.get("client_secret") or None,
            endpoints=form.endpoints,
            actor=Actor.from_request(request),
            scopes=data["scopes"],
            admin_claim=data["admin_claim"],
            admin_value=data["admin_value"],
            allow_private_network=data["allow_private_network"],
            enabled=data["enabled"],
        )
        obj.pk = saved.pk
        portal = f"{mcp_settings.PUBLIC_URL}/portal/{saved.tenant.slug}/"
        messages.info(request, f"The tenant's users sign in at {portal}")

    def _set_mode(self, request: HttpRequest, queryset: Any, mode: str) -> None:
        actor = Actor.from_request(request)
        for sign_in in queryset.select_related("tenant"):
            services.sign_in_set_mode(tenant=sign_in.tenant, mode=mode, actor=actor)
        self.message_user(request, f"{queryset.count()} tenant(s) now in {mode} mode.")

    @admin.action(description="Use broker mode (this server's authorization server)")
    def use_broker_mode(self, request: HttpRequest, queryset: Any) -> None:
        self._set_mode(request, queryset, PortalSignIn.Mode.BROKER)

    @admin.action(description="Use direct mode (the tenant's identity providers)")
    def use_direct_mode(self, request: HttpRequest, queryset: Any) -> None:
        self._set_mode(request, queryset, PortalSignIn.Mode.DIRECT)
