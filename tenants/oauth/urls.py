from django.urls import path

from tenants.oauth import views

urlpatterns = [
    path(
        ".well-known/oauth-authorization-server/oauth/<slug:slug>",
        views.authorization_server_metadata,
        name="oauth-authorization-server",
    ),
    path("oauth/<slug:slug>/jwks", views.jwks, name="oauth-jwks"),
]
