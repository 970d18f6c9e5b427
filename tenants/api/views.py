"""The REST API, ``/api/v1/``: thin views over the same services admin and the portal use.

Who may do what: staff everything; a tenant's admins its keys, members and audit log; every
member their own keys and sessions. A tenant the caller has no part in answers 404, as if it
did not exist; a member asking for an admin's endpoint gets 403.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants import services
from tenants.api import serializers as s
from tenants.api.authentication import Caller, caller_of
from tenants.audit import Actor
from tenants.models import ApiKey, AuditLog, IdentityProvider, Membership, Tenant
from tenants.portal import selectors as portal_selectors

ADMIN, MEMBER = Membership.Role.ADMIN, Membership.Role.MEMBER


def _caller(request: Request) -> Caller:
    caller = caller_of(request)
    if caller is None:
        raise exceptions.NotAuthenticated()
    return caller


def _actor(request: Request) -> Actor:
    return Actor(
        name=_caller(request).name[:200],
        client_ip=getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR"),
        request_id=getattr(request._request, "request_id", "-"),
    )


def _staff(request: Request) -> Caller:
    caller = _caller(request)
    if not caller.is_staff:
        raise exceptions.PermissionDenied("Only staff may do this.")
    return caller


def _tenant(request: Request, slug: str, *, need: str) -> Tenant:
    caller = _caller(request)
    tenant = Tenant.objects.filter(slug=slug).first()
    role = None if tenant is None else caller.role_in(tenant)
    if tenant is None or (role is None and not caller.is_staff):
        raise exceptions.NotFound("No such tenant.")
    if need == ADMIN and role != ADMIN and not caller.is_staff:
        raise exceptions.PermissionDenied("Only the tenant's admins may do this.")
    return tenant


def _membership(request: Request, tenant: Tenant) -> Membership:
    user = _caller(request).user
    membership = (
        Membership.objects.filter(tenant=tenant, user=user).select_related("tenant").first()
        if user is not None
        else None
    )
    if membership is None:
        raise exceptions.PermissionDenied("Personal keys and sessions belong to a member.")
    return membership


# -- staff ----------------------------------------------------------------------------------
class TenantList(generics.ListAPIView):
    serializer_class = s.TenantSerializer

    def get_queryset(self) -> QuerySet[Tenant]:
        caller = _caller(self.request)
        tenants = Tenant.objects.order_by("slug")
        return tenants if caller.is_staff else tenants.filter(pk__in=list(caller.roles))

    @extend_schema(request=s.TenantCreateSerializer, responses={201: s.TenantSerializer})
    def post(self, request: Request) -> Response:
        _staff(request)
        data = _valid(s.TenantCreateSerializer, request)
        tenant = services.tenant_create(actor=_actor(request), **data)
        return Response(s.TenantSerializer(tenant).data, status=status.HTTP_201_CREATED)


class TenantDetail(APIView):
    @extend_schema(responses=s.TenantSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response(s.TenantSerializer(_tenant(request, slug, need=MEMBER)).data)

    @extend_schema(request=s.TenantUpdateSerializer, responses=s.TenantSerializer)
    def patch(self, request: Request, slug: str) -> Response:
        _staff(request)
        tenant = get_object_or_404(Tenant, slug=slug)
        data = _valid(s.TenantUpdateSerializer, request)
        actor = _actor(request)
        if "name" in data:
            tenant = services.tenant_update(tenant=tenant, name=data["name"], actor=actor)
        if data.get("status") == Tenant.Status.SUSPENDED:
            tenant = services.tenant_suspend(tenant=tenant, actor=actor)
        elif data.get("status") == Tenant.Status.ACTIVE:
            tenant = services.tenant_reactivate(tenant=tenant, actor=actor)
        return Response(s.TenantSerializer(tenant).data)


class TenantTools(APIView):
    @extend_schema(responses=s.ToolsStateSerializer)
    def get(self, request: Request, slug: str) -> Response:
        tenant = _tenant(request, slug, need=ADMIN)
        return Response(s.ToolsStateSerializer(tenant).data)

    @extend_schema(request=s.ToolsSerializer, responses=s.ToolsStateSerializer)
    def put(self, request: Request, slug: str) -> Response:
        _staff(request)
        tenant = get_object_or_404(Tenant, slug=slug)
        data = _valid(s.ToolsSerializer, request)
        tenant = services.tenant_set_tools(tenant=tenant, actor=_actor(request), **data)
        return Response(s.ToolsStateSerializer(tenant).data)


class IdentityProviderList(generics.ListAPIView):
    serializer_class = s.IdentityProviderSerializer

    def get_queryset(self) -> QuerySet[IdentityProvider]:
        _staff(self.request)
        tenant = get_object_or_404(Tenant, slug=self.kwargs["slug"])
        return IdentityProvider.objects.filter(tenant=tenant).order_by("id")

    @extend_schema(
        request=s.IdentityProviderSerializer, responses={201: s.IdentityProviderSerializer}
    )
    def post(self, request: Request, slug: str) -> Response:
        _staff(request)
        tenant = get_object_or_404(Tenant, slug=slug)
        data = _valid(s.IdentityProviderSerializer, request)
        provider = services.identity_provider_create(tenant=tenant, actor=_actor(request), **data)
        return Response(s.IdentityProviderSerializer(provider).data, status=status.HTTP_201_CREATED)


class IdentityProviderEnabled(APIView):
    @extend_schema(request=s.EnabledSerializer, responses=s.IdentityProviderSerializer)
    def put(self, request: Request, slug: str, provider_id: int) -> Response:
        _staff(request)
        provider = get_object_or_404(IdentityProvider, tenant__slug=slug, pk=provider_id)
        data = _valid(s.EnabledSerializer, request)
        provider = services.identity_provider_set_enabled(
            provider=provider, enabled=data["enabled"], actor=_actor(request)
        )
        return Response(s.IdentityProviderSerializer(provider).data)


# -- tenant admins --------------------------------------------------------------------------
def _create_key(request: Request, tenant: Tenant, membership: Membership | None) -> Response:
    data = _valid(s.ApiKeyCreateSerializer, request)
    days = data.get("expires_in_days")
    expires_at = timezone.now() + timedelta(days=days) if days else None
    common = {"name": data["name"], "scopes": data["scopes"], "actor": _actor(request)}
    if membership is not None:
        key, raw = services.personal_key_create(
            membership=membership, expires_at=expires_at, **common
        )
    else:
        key, raw = services.api_key_create(tenant=tenant, expires_at=expires_at, **common)
    body = s.ApiKeySerializer(key).data | {"key": raw}
    return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class ApiKeyList(generics.ListAPIView):
    serializer_class = s.ApiKeySerializer

    def get_queryset(self) -> QuerySet[ApiKey]:
        tenant = _tenant(self.request, self.kwargs["slug"], need=ADMIN)
        return (
            ApiKey.objects.filter(tenant=tenant)
            .select_related("owner")
            .order_by("-created_at", "-id")
        )

    @extend_schema(request=s.ApiKeyCreateSerializer, responses={201: s.ApiKeyCreatedSerializer})
    def post(self, request: Request, slug: str) -> Response:
        return _create_key(request, _tenant(request, slug, need=ADMIN), None)


class ApiKeyRevoke(APIView):
    @extend_schema(request=None, responses=s.ApiKeySerializer)
    def post(self, request: Request, slug: str, public_id: str) -> Response:
        tenant = _tenant(request, slug, need=MEMBER)
        keys = ApiKey.objects.filter(tenant=tenant)
        if _caller(request).role_in(tenant) != ADMIN and not _caller(request).is_staff:
            keys = keys.filter(owner=_membership(request, tenant).user)
        key = get_object_or_404(keys, public_id=public_id)
        return Response(
            s.ApiKeySerializer(services.api_key_revoke(key=key, actor=_actor(request))).data
        )


class MemberList(generics.ListAPIView):
    serializer_class = s.MembershipSerializer

    def get_queryset(self) -> QuerySet[Membership]:
        tenant = _tenant(self.request, self.kwargs["slug"], need=ADMIN)
        return portal_selectors.tenant_members(tenant=tenant)


class MemberDetail(APIView):
    @extend_schema(request=s.RoleSerializer, responses=s.MembershipSerializer)
    def patch(self, request: Request, slug: str, member_id: int) -> Response:
        tenant = _tenant(request, slug, need=ADMIN)
        membership = get_object_or_404(Membership, tenant=tenant, pk=member_id)
        data = _valid(s.RoleSerializer, request)
        membership = services.membership_set_role(
            membership=membership, role=data["role"], actor=_actor(request)
        )
        return Response(s.MembershipSerializer(membership).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, slug: str, member_id: int) -> Response:
        tenant = _tenant(request, slug, need=ADMIN)
        membership = get_object_or_404(Membership, tenant=tenant, pk=member_id)
        services.membership_remove(membership=membership, actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    parameters=[
        OpenApiParameter("action", str, description="Only this action, e.g. api_key.create"),
        OpenApiParameter("outcome", str, enum=AuditLog.Outcome.values),
        OpenApiParameter(
            "since", OpenApiTypes.DATETIME, description="ISO 8601 time: only rows from then on"
        ),
    ]
)
class AuditLogList(generics.ListAPIView):
    serializer_class = s.AuditLogSerializer

    def get_queryset(self) -> QuerySet[AuditLog]:
        tenant = _tenant(self.request, self.kwargs["slug"], need=ADMIN)
        rows = AuditLog.objects.filter(tenant=tenant)
        params = self.request.query_params
        if action := params.get("action"):
            rows = rows.filter(action=action[:100])
        if outcome := params.get("outcome"):
            if outcome not in AuditLog.Outcome.values:
                raise exceptions.ValidationError({"outcome": "Not a known outcome."})
            rows = rows.filter(outcome=outcome)
        if since := params.get("since"):
            rows = rows.filter(time__gte=_utc_time(since))
        return rows.order_by("-time", "-id")


# -- every member ---------------------------------------------------------------------------
class MyKeys(generics.ListAPIView):
    serializer_class = s.ApiKeySerializer

    def get_queryset(self) -> QuerySet[ApiKey]:
        tenant = _tenant(self.request, self.kwargs["slug"], need=MEMBER)
        membership = _membership(self.request, tenant)
        return portal_selectors.personal_keys(membership=membership).order_by("-created_at", "-id")

    @extend_schema(request=s.ApiKeyCreateSerializer, responses={201: s.ApiKeyCreatedSerializer})
    def post(self, request: Request, slug: str) -> Response:
        tenant = _tenant(request, slug, need=MEMBER)
        return _create_key(request, tenant, _membership(request, tenant))


class MySessions(APIView):
    @extend_schema(responses=s.SeenClientSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        membership = _membership(request, _tenant(request, slug, need=MEMBER))
        seen = portal_selectors.recent_clients(membership=membership)
        return Response(s.SeenClientSerializer(seen, many=True).data)


class MySignOut(APIView):
    @extend_schema(request=None, responses=s.SignOutSerializer)
    def post(self, request: Request, slug: str) -> Response:
        membership = _membership(request, _tenant(request, slug, need=MEMBER))
        revoked = services.member_sign_out_everywhere(membership=membership, actor=_actor(request))
        return Response({"revoked_keys": revoked})


def _utc_time(text: str) -> datetime:
    """An ISO 8601 time in UTC (any offset Python takes, which the database may not)."""
    try:
        when = parse_datetime(text)
        if when is not None:
            when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        when = None
    if when is None:
        raise exceptions.ValidationError({"since": "Not an ISO 8601 time."})
    return when


def _valid(serializer_class: Any, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
