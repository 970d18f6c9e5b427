"""Admin for the broker: each tenant's OAuth clients and the grants its members gave them,
both revocable (through tenants.services.oauth, audited). Nothing here is added or edited by
hand: clients register themselves, grants come from the authorization flow."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from tenants import services
from tenants.admin_mixins import NoDeleteMixin, ReadOnlyChangePageMixin
from tenants.audit import Actor
from tenants.models import BrokerClient, BrokerGrant, Membership


class _ReadOnly(ReadOnlyChangePageMixin, NoDeleteMixin, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BrokerClient)
class BrokerClientAdmin(_ReadOnly):
    list_display = ("client_name", "client_id", "tenant", "kind", "created_at", "revoked_at")
    list_filter = ("tenant",)
    search_fields = ("application__name", "application__client_id", "tenant__slug")
    list_select_related = ("application", "tenant")
    actions = ("revoke_clients",)

    @admin.display(description="client", ordering="application__name")
    def client_name(self, obj: BrokerClient) -> str:
        return str(obj.application.name or "(unnamed)")

    @admin.display(description="client ID")
    def client_id(self, obj: BrokerClient) -> str:
        return str(obj.application.client_id)

    @admin.display(description="registered by")
    def kind(self, obj: BrokerClient) -> str:
        source = obj.application.registration_source
        return "metadata document" if source == "cimd" else "dynamic registration"

    @admin.action(description="Revoke selected clients (and their grants)")
    def revoke_clients(self, request: HttpRequest, queryset: QuerySet[BrokerClient]) -> None:
        actor = Actor.from_request(request)
        grants = sum(services.oauth_client_revoke(link=link, actor=actor) for link in queryset)
        self.message_user(
            request, f"{queryset.count()} client(s) revoked, {grants} grant(s).", messages.SUCCESS
        )


@admin.register(BrokerGrant)
class BrokerGrantAdmin(_ReadOnly):
    """Live grants only: revoked and rotated-out rows are history, not grants."""

    list_display = ("user", "client_name", "tenants", "created", "updated")
    list_filter = ("application__broker_links__tenant",)
    search_fields = ("user__username", "user__email", "application__name")
    list_select_related = ("user", "application")
    actions = ("revoke_grants",)
    fields = ("user", "application", "token_family", "created", "updated")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[BrokerGrant]:
        return (
            super()
            .get_queryset(request)
            .filter(revoked__isnull=True, application__broker_links__isnull=False)
            .distinct()
        )

    @admin.display(description="client", ordering="application__name")
    def client_name(self, obj: BrokerGrant) -> str:
        return str(obj.application.name or obj.application.client_id)

    @admin.display(description="tenant")
    def tenants(self, obj: BrokerGrant) -> str:
        return ", ".join(sorted(str(m.tenant.slug) for m in self._memberships(obj)))

    def _memberships(self, obj: BrokerGrant) -> QuerySet[Membership]:
        return Membership.objects.filter(
            user_id=obj.user_id, tenant__broker_clients__application_id=obj.application_id
        ).select_related("tenant")

    @admin.action(description="Revoke selected grants (the client must sign in again)")
    def revoke_grants(self, request: HttpRequest, queryset: QuerySet[BrokerGrant]) -> None:
        actor = Actor.from_request(request)
        count = 0
        for grant in queryset:
            for membership in self._memberships(grant):
                services.oauth_grant_revoke(tenant=membership.tenant, grant=grant, actor=actor)
                count += 1
        self.message_user(request, f"{count} grant(s) revoked.", messages.SUCCESS)
