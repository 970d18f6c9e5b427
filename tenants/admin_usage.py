"""The admin's usage page for one tenant: calls per tool per day, error rate, slowest tools.

The chart is an inline SVG drawn on the server (no script, nothing fetched from elsewhere).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from tenants import usage
from tenants.models import Tenant

DAYS = 30
CHART_HEIGHT = 120
BAR_WIDTH = 16


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    error_height: int
    label: str

    @property
    def error_y(self) -> int:
        return CHART_HEIGHT - self.error_height


def _bars(report: usage.Usage) -> list[Bar]:
    tallest = max((day.calls for day in report.days), default=0) or 1
    bars = []
    for index, day in enumerate(report.days):
        height = max(1, round(CHART_HEIGHT * day.calls / tallest))
        errors = round(CHART_HEIGHT * day.errors / tallest)
        per_tool = ", ".join(f"{tool} {count}" for tool, count in sorted(day.by_tool.items()))
        bars.append(
            Bar(
                x=index * (BAR_WIDTH + 4),
                y=CHART_HEIGHT - height,
                height=height,
                error_height=errors,
                label=f"{day.day:%Y-%m-%d}: {day.calls} calls, {day.errors} errors ({per_tool})",
            )
        )
    return bars


def usage_view(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, object_id: str
) -> HttpResponse:
    tenant = Tenant.objects.filter(pk=object_id).first() if object_id.isdigit() else None
    if tenant is None or not model_admin.has_view_permission(request, tenant):
        raise Http404("No such tenant.")
    since = timezone.now() - dt.timedelta(days=DAYS)
    report = usage.tool_usage(tenant=tenant, since=since)
    bars = _bars(report)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Tool usage of {tenant.slug}",
        "tenant": tenant,
        "opts": model_admin.model._meta,
        "change_url": reverse("admin:tenants_tenant_change", args=[tenant.pk]),
        "days": DAYS,
        "report": report,
        "error_percent": f"{report.error_rate * 100:.1f}",
        "slowest": report.slowest(),
        "bars": bars,
        "chart_width": max(len(bars) * (BAR_WIDTH + 4), BAR_WIDTH),
        "chart_height": CHART_HEIGHT,
        "bar_width": BAR_WIDTH,
    }
    return TemplateResponse(request, "admin/tenants/tenant/usage.html", context)
