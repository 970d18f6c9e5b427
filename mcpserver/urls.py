from django.contrib import admin
from django.urls import path

from mcpserver import health

admin.site.site_header = "MCP server administration"
admin.site.site_title = "MCP server"
admin.site.index_title = "Tenants, credentials and audit"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]
