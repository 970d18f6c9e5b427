from django.contrib import admin
from django.urls import include, path, re_path

from mcpserver import health, pages
from mcpserver.observability.views import metrics
from tenants.auth.probes import no_authorization_server
from tenants.auth.views import protected_resource_metadata

# JSON for JSON clients, branded pages for browsers, and a database outage as 503 (see
# mcpserver.handlers and mcpserver.pages).
handler404 = "mcpserver.pages.not_found"
handler403 = "mcpserver.pages.forbidden"
handler500 = "mcpserver.handlers.server_error"

urlpatterns = [
    path("", pages.landing, name="landing"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # The end users' portal and OpenID Connect sign-in; the REST API (tenants.portal, .api).
    path("", include("tenants.portal.urls")),
    path("", include("tenants.api.urls")),
    # A browser opening a tenant's endpoint (mcpserver.asgi sends only those visits here).
    path("mcp/<slug:slug>", pages.endpoint_page, name="endpoint-page"),
    # RFC 9728 metadata of each tenant's MCP endpoint (tenants.auth).
    path(
        ".well-known/oauth-protected-resource/mcp/<slug:slug>",
        protected_resource_metadata,
        name="oauth-protected-resource",
    ),
    # The authorization server of each tenant in broker mode (tenants.oauth).
    path("", include("tenants.oauth.urls")),
    # What OAuth clients probe on a host without an authorization server: JSON, never HTML.
    re_path(r"^(?P<rest>.*)\.well-known/.*$", no_authorization_server),
    re_path(
        r"^(?P<rest>(?:mcp/[a-z0-9-]+/)?)(?:register|authorize|token)/?$", no_authorization_server
    ),
]
