"""The broker's public documents: RFC 8414 metadata and the JWKS of its signing keys."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from tenants.auth import outage
from tenants.oauth import issuer, keys


def _not_found() -> JsonResponse:
    response = JsonResponse(
        {"error": "not_found", "error_description": "No authorization server for this tenant."},
        status=404,
    )
    response["Cache-Control"] = "no-store"
    return response


def _public(document: dict[str, object], *, max_age: int) -> JsonResponse:
    response = JsonResponse(document)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = f"public, max-age={max_age}"
    return response


@require_GET
def authorization_server_metadata(request: HttpRequest, slug: str) -> JsonResponse:
    try:
        tenant = issuer.broker_tenant(slug)
        if tenant is None:
            return _not_found()
        return _public(issuer.metadata(tenant), max_age=300)
    except outage.OUTAGE_ERRORS as exc:
        outage.note(exc)
        return outage.json_response()


@require_GET
def jwks(request: HttpRequest, slug: str) -> JsonResponse:
    try:
        tenant = issuer.broker_tenant(slug)
        if tenant is None:
            return _not_found()
        keys.current_key(tenant)  # a new tenant's first key, or a rotation that is due
        return _public({"keys": keys.published_keys(tenant)}, max_age=60)
    except outage.OUTAGE_ERRORS as exc:
        outage.note(exc)
        return outage.json_response()
