from django.urls import include, path
from oauth2_provider.views.dynamic_client_registration import (
    DynamicClientRegistrationManagementView,
)

from tenants.oauth import views

# django-oauth-toolkit's DCR answer names its RFC 7592 management URL by this name.
_library = (
    [
        path(
            "oauth/clients/<str:client_id>",
            DynamicClientRegistrationManagementView.as_view(),
            name="dcr-register-management",
        )
    ],
    "oauth2_provider",
)

urlpatterns = [
    path(
        ".well-known/oauth-authorization-server/oauth/<slug:slug>",
        views.authorization_server_metadata,
        name="oauth-authorization-server",
    ),
    path("oauth/<slug:slug>/jwks", views.jwks, name="oauth-jwks"),
    path("oauth/<slug:slug>/authorize", views.authorize, name="oauth-authorize"),
    path("oauth/<slug:slug>/token", views.token, name="oauth-token"),
    path("oauth/<slug:slug>/register", views.register, name="oauth-register"),
    path("oauth/<slug:slug>/revoke", views.revoke, name="oauth-revoke"),
    path("", include(_library)),
]
