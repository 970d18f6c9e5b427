from django.urls import path

from tenants.portal import flow, views

urlpatterns = [
    path("oidc/callback/", flow.callback, name="oidc-callback"),
    path("oidc/staff/", flow.start_staff, name="oidc-staff-start"),
    path("portal/<slug:slug>/", views.home, name="portal-home"),
    path("portal/<slug:slug>/sign-in/", flow.start_tenant, name="portal-sign-in"),
    path("portal/<slug:slug>/sign-out/", views.sign_out, name="portal-sign-out"),
    path(
        "portal/<slug:slug>/sign-out-everywhere/",
        views.sign_out_everywhere,
        name="portal-sign-out-everywhere",
    ),
    path("portal/<slug:slug>/keys/new/", views.key_create, name="portal-key-create"),
    path(
        "portal/<slug:slug>/keys/<str:public_id>/created/",
        views.key_created,
        name="portal-key-created",
    ),
    path(
        "portal/<slug:slug>/keys/<str:public_id>/revoke/",
        views.key_revoke,
        name="portal-key-revoke",
    ),
    path("portal/<slug:slug>/admin/members/", views.members, name="portal-members"),
    path("portal/<slug:slug>/admin/keys/", views.tenant_keys, name="portal-keys"),
    path("portal/<slug:slug>/admin/audit/", views.audit, name="portal-audit"),
]
