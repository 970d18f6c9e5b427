from django.contrib import admin
from django.urls import path

from mcpserver import health
from tenants.auth.views import protected_resource_metadata

# A JSON answer for JSON clients, and a database outage as 503 (see mcpserver.handlers).
handler500 = "mcpserver.handlers.server_error"

admin.site.site_header = "MCP server administration"
admin.site.site_title = "MCP server"
admin.site.index_title = "Tenants, credentials and audit"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    # RFC 9728 metadata of each tenant's MCP endpoint (tenants.auth).
    path(
        ".well-known/oauth-protected-resource/mcp/<slug:slug>",
        protected_resource_metadata,
        name="oauth-protected-resource",
    ),
]
