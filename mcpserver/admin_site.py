"""The admin site, whose index is a dashboard: tenants, failing identity providers, recent
failures and today's calls, above the usual list of models."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse


class McpAdminSite(admin.AdminSite):
    site_header = "MCP server administration"
    site_title = "MCP server"
    index_title = "Dashboard"
    site_url = "/"
    index_template = "admin/dashboard.html"

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        # Imported here: this module is loaded with the app registry, before any model.
        from tenants.selectors import dashboard_summary

        return super().index(request, {"dashboard": dashboard_summary(), **(extra_context or {})})

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # Staff sign in through the staff OpenID provider when one is configured.
        from tenants.portal.oidc import staff_configured

        return super().login(request, {"sso": staff_configured(), **(extra_context or {})})


class McpAdminConfig(AdminConfig):
    default_site = "mcpserver.admin_site.McpAdminSite"
