"""JSON answers for the paths an OAuth client probes on a host that has no authorization server.

A client pointed at a tenant that takes API keys (or tokens from its own identity provider)
still tries RFC 8414 and OpenID discovery on our host, then ``/register``, ``/authorize`` and
``/token``. It shows its user whatever comes back, so what comes back says plainly what to do:
JSON (never an HTML page), naming the tenant's sign-in when the path names a tenant.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from tenants.auth import outage
from tenants.models import Tenant

_TENANT_IN_PATH = re.compile(r"(?:^|/)(?:mcp|oauth)/(?P<slug>[a-z0-9-]+)(?:/|$)")


@csrf_exempt
def no_authorization_server(request: HttpRequest, rest: str = "") -> JsonResponse:
    found = _TENANT_IN_PATH.search(request.path)
    try:
        description = _describe(found["slug"] if found else None)
    except outage.OUTAGE_ERRORS as exc:
        outage.note(exc)
        return outage.json_response()
    response = JsonResponse({"error": "not_found", "error_description": description}, status=404)
    response["Cache-Control"] = "no-store"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _describe(slug: str | None) -> str:
    general = (
        "This server runs no OAuth authorization server at this path. Each tenant's MCP "
        "endpoint /mcp/<tenant> names where its tokens come from in "
        "/.well-known/oauth-protected-resource/mcp/<tenant>."
    )
    if slug is None:
        return general
    tenant = Tenant.objects.filter(slug=slug, status=Tenant.Status.ACTIVE).first()
    if tenant is None:
        return general
    issuers = sorted(
        set(tenant.identity_providers.filter(enabled=True).values_list("issuer", flat=True))
    )
    if issuers:
        return (
            f"Tenant {tenant.slug!r} has no authorization server on this host: its tokens are "
            f"issued by {', '.join(issuers)}. Discover it from {tenant.resource_metadata_url}."
        )
    return (
        f"Tenant {tenant.slug!r} has no authorization server: it accepts API keys only. Send "
        "one as 'Authorization: Bearer <key>'; the tenant's administrator issues them."
    )
