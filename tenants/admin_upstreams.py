"""Admin pages for tenant secrets, upstream MCP servers and HTTP tools; every change through
``tenants.services``.

Secrets are write-only here as everywhere: the list and the change page show the name, the
last four characters (of a value of 16 or more), who set it and when; the value can be
replaced, never read back. The tenant's page shows each upstream's calls, errors and latency
over the last day (``tenants.upstreams.usage``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from tenants import services
from tenants.audit import Actor
from tenants.forms_upstreams import HttpToolForm, TenantSecretForm, UpstreamForm
from tenants.models import HttpTool, Tenant, TenantSecret, Upstream
from tenants.upstreams.usage import upstream_usage

_TENANT_AND_NAME = ("tenant", "name")


@admin.register(TenantSecret)
class TenantSecretAdmin(admin.ModelAdmin):
    form = TenantSecretForm
    list_display = ("name", "tenant", "hint", "set_by", "set_at")
    list_filter = ("tenant",)
    search_fields = ("name", "tenant__slug")
    list_select_related = ("tenant",)
    readonly_fields = ("hint", "set_by", "set_at")

    def get_fields(self, request: HttpRequest, obj: TenantSecret | None = None) -> Any:
        if obj is None:
            return ("tenant", "name", "value")
        return ("tenant", "name", "hint", "set_by", "set_at", "value")

    def get_readonly_fields(self, request: HttpRequest, obj: TenantSecret | None = None) -> Any:
        return self.readonly_fields if obj is None else (*_TENANT_AND_NAME, *self.readonly_fields)

    @admin.display(description="value")
    def hint(self, obj: TenantSecret) -> str:
        return f"…{obj.last_four}" if obj.last_four else "(hidden)"

    def save_model(self, request: HttpRequest, obj: TenantSecret, form: Any, change: bool) -> None:
        value = form.cleaned_data.get("value") or ""
        if change and not value:
            return  # nothing to replace
        secret = services.tenant_secret_set(
            tenant=obj.tenant, name=obj.name, value=value, actor=Actor.from_request(request)
        )
        obj.pk, obj.last_four, obj.set_by, obj.set_at = (
            secret.pk, secret.last_four, secret.set_by, secret.set_at,
        )  # fmt: skip

    def delete_model(self, request: HttpRequest, obj: TenantSecret) -> None:
        services.tenant_secret_delete(
            tenant=obj.tenant, name=obj.name, actor=Actor.from_request(request)
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TenantSecret]) -> None:
        for secret in queryset.select_related("tenant"):
            self.delete_model(request, secret)


@admin.register(Upstream)
class UpstreamAdmin(admin.ModelAdmin):
    form = UpstreamForm
    list_display = ("name", "tenant", "url", "enabled", "allow_private_network", "timeout")
    list_filter = ("enabled", "tenant")
    search_fields = ("name", "url", "tenant__slug")
    list_select_related = ("tenant",)
    actions = ("enable", "disable")

    def get_readonly_fields(self, request: HttpRequest, obj: Upstream | None = None) -> Any:
        return () if obj is None else _TENANT_AND_NAME

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # disable it instead: the audit log names it

    def save_model(self, request: HttpRequest, obj: Upstream, form: Any, change: bool) -> None:
        actor = Actor.from_request(request)
        data = form.cleaned_data
        if change:
            changes = {f: data[f] for f in services.upstreams.UPSTREAM_FIELDS if f in data}
            services.upstream_update(upstream=obj, changes=changes, actor=actor)
            return
        upstream = services.upstream_create(
            tenant=data["tenant"],
            name=data["name"],
            url=data["url"],
            headers=data["headers"],
            allow_private_network=data["allow_private_network"],
            timeout=data["timeout"],
            scopes=data["scopes"],
            actor=actor,
        )
        if not data["enabled"]:
            services.upstream_update(upstream=upstream, changes={"enabled": False}, actor=actor)
        obj.pk = upstream.pk

    def _set_enabled(self, request: HttpRequest, queryset: Any, enabled: bool) -> None:
        actor = Actor.from_request(request)
        for upstream in queryset:
            services.upstream_update(upstream=upstream, changes={"enabled": enabled}, actor=actor)
        self.message_user(request, f"{queryset.count()} upstream(s) updated.", messages.SUCCESS)

    @admin.action(description="Enable selected upstreams")
    def enable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected upstreams")
    def disable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, False)


@admin.register(HttpTool)
class HttpToolAdmin(admin.ModelAdmin):
    form = HttpToolForm
    list_display = ("name", "tenant", "method", "enabled")
    list_filter = ("enabled", "tenant")
    search_fields = ("name", "tenant__slug")
    list_select_related = ("tenant",)

    def get_readonly_fields(self, request: HttpRequest, obj: HttpTool | None = None) -> Any:
        return () if obj is None else ("tenant",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # disable it instead

    @admin.display(description="method")
    def method(self, obj: HttpTool) -> str:
        return str((obj.spec or {}).get("method", ""))

    def save_model(self, request: HttpRequest, obj: HttpTool, form: Any, change: bool) -> None:
        actor = Actor.from_request(request)
        data = form.cleaned_data
        if change:
            services.http_tool_update(
                tool=obj, spec=data["spec"], enabled=data["enabled"], actor=actor
            )
            return
        tool = services.http_tool_create(tenant=data["tenant"], spec=data["spec"], actor=actor)
        if not data["enabled"]:
            services.http_tool_update(tool=tool, enabled=False, actor=actor)
        obj.pk = tool.pk


def upstreams_html(tenant: Tenant) -> str:
    """The tenant page's section: its upstreams and HTTP tools, with a day of their calls."""
    since = timezone.now() - dt.timedelta(days=1)
    usage = {row.upstream: row for row in upstream_usage(tenant=tenant, since=since)}
    rows = []
    for label, key, enabled in [
        *((f"{u.name} (MCP, {u.url})", u.name, u.enabled) for u in tenant.upstreams.all()),
        *((f"{t.name} (HTTP tool)", f"http:{t.name}", t.enabled) for t in tenant.http_tools.all()),
    ]:
        seen = usage.get(key)
        stats = (
            f"{seen.calls} calls, {seen.errors} errors ({seen.error_percent} %), "
            f"p50 {seen.p50_ms} ms, p95 {seen.p95_ms} ms"
            + (f"; last error: {seen.last_error}" if seen.last_error else "")
            if seen
            else "no calls"
        )
        rows.append((label, "" if enabled else " (disabled)", stats))
    secrets = ", ".join(tenant.secrets.values_list("name", flat=True)) or "none"
    listed = format_html_join("", "<li>{}{}: {}</li>", rows) or mark_safe("<li>none</li>")
    return format_html("<ul>{}</ul><p>Last 24 hours. Secrets: {}.</p>", listed, secrets)
