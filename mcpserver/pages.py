"""The pages a person opens in a browser: the landing page at ``/``, the explanation a browser
gets at ``/mcp/<slug>``, and the branded 404 and 403 pages (the 500 is in ``handlers``).

Only browsers get HTML: a client that does not put ``text/html`` first in ``Accept`` gets the
same answers as JSON (``handlers.wants_html`` decides, in one place).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mcpserver import health
from mcpserver.conf import mcp_settings
from mcpserver.context import request_headers
from mcpserver.handlers import wants_html
from tenants.auth import outage
from tenants.models import Tenant


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    checks = health.readiness()
    return render(
        request,
        "pages/landing.html",
        {
            "public_url": mcp_settings.PUBLIC_URL,
            "checks": checks,
            "ready": all(checks.values()),
            "embedded": not settings.REDIS_URL,
        },
    )


def is_browser_visit(scope: dict[str, Any]) -> bool:
    """A person opening the endpoint's URL, not an MCP client: a GET that asks for HTML first
    and carries nothing an MCP client sends (a credential, a session, a stream to resume)."""
    if scope.get("method") != "GET":
        return False
    headers = request_headers(scope)
    if any(name in headers for name in ("authorization", "mcp-session-id", "last-event-id")):
        return False
    return headers.get("accept", "").lstrip().startswith("text/html")


@require_GET
def endpoint_page(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        tenant = Tenant.objects.filter(slug=slug, status=Tenant.Status.ACTIVE).first()
        issuers = (
            list(tenant.identity_providers.filter(enabled=True).values_list("issuer", flat=True))
            if tenant is not None
            else []
        )
    except outage.OUTAGE_ERRORS as exc:
        outage.note(exc)
        return outage.json_response()
    if tenant is None:
        return not_found(request, None)
    return render(
        request,
        "pages/endpoint.html",
        {"tenant": tenant, "endpoint": tenant.resource_identifier, "issuers": sorted(set(issuers))},
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):  # the REST API's one error shape (tenants.api.errors)
        return JsonResponse(
            {"error": {"code": "not_found", "message": "Nothing is here."}}, status=404
        )
    if not wants_html(request):
        return JsonResponse(
            {"error": "not_found", "error_description": "Nothing is here."}, status=404
        )
    return render(request, "404.html", {"path": request.path}, status=404)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not wants_html(request):
        return JsonResponse(
            {"error": "forbidden", "error_description": "This is not allowed."}, status=403
        )
    return render(request, "403.html", status=403)
