from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tenants.api import schema, views  # noqa: F401 - schema registers its extensions

T = "api/v1/tenants/<slug:slug>"

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/schema/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path("api/v1/tenants/", views.TenantList.as_view(), name="api-tenants"),
    path(f"{T}/", views.TenantDetail.as_view(), name="api-tenant"),
    path(f"{T}/tools/", views.TenantTools.as_view(), name="api-tenant-tools"),
    path(f"{T}/identity-providers/", views.IdentityProviderList.as_view(), name="api-idps"),
    path(
        f"{T}/identity-providers/<int:provider_id>/enabled/",
        views.IdentityProviderEnabled.as_view(),
        name="api-idp-enabled",
    ),
    path(f"{T}/api-keys/", views.ApiKeyList.as_view(), name="api-keys"),
    path(
        f"{T}/api-keys/<str:public_id>/revoke/", views.ApiKeyRevoke.as_view(), name="api-key-revoke"
    ),
    path(f"{T}/members/", views.MemberList.as_view(), name="api-members"),
    path(f"{T}/members/<int:member_id>/", views.MemberDetail.as_view(), name="api-member"),
    path(f"{T}/audit-log/", views.AuditLogList.as_view(), name="api-audit"),
    path(f"{T}/me/keys/", views.MyKeys.as_view(), name="api-my-keys"),
    path(f"{T}/me/sessions/", views.MySessions.as_view(), name="api-my-sessions"),
    path(f"{T}/me/sign-out-everywhere/", views.MySignOut.as_view(), name="api-my-sign-out"),
]
