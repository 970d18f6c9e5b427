"""RFC 9728 protected-resource metadata for each tenant's MCP endpoint."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from tenants.auth import outage
from tenants.auth.challenges import supported_scopes
from tenants.models import Tenant
from tenants.oauth import issuer as broker


@require_GET
def protected_resource_metadata(request: HttpRequest, slug: str) -> JsonResponse:
    try:
        return _metadata(slug)
    except outage.OUTAGE_ERRORS as exc:
        outage.note(exc)  # logged, at most once per interval
        return outage.json_response()


def _metadata(slug: str) -> JsonResponse:
    tenant = Tenant.objects.filter(slug=slug, status=Tenant.Status.ACTIVE).first()
    if tenant is None:  # unknown and suspended look the same
        return JsonResponse({"error": "not_found"}, status=404)
    issuers = list(
        tenant.identity_providers.filter(enabled=True)
        .order_by("pk")
        .values_list("issuer", flat=True)
        .distinct()
    )
    if broker.in_broker_mode(tenant):
        # Broker mode: our own authorization server issues this tenant's tokens.
        issuers = [broker.issuer(tenant)]
    document: dict[str, object] = {"resource": tenant.resource_identifier}
    # A tenant without an identity provider takes API keys only: it names no authorization
    # server rather than an empty list (RFC 9728 makes the member optional, not empty).
    if issuers:
        document["authorization_servers"] = issuers
    # Likewise no empty scope list: a client would take it for a scope of "" and ask for it.
    scopes = supported_scopes(tenant)
    if scopes:
        document["scopes_supported"] = scopes
    document.update(bearer_methods_supported=["header"], resource_name=tenant.name)
    response = JsonResponse(document)
    # Public metadata, read by browser-based clients too.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response
