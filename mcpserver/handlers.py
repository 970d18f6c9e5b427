"""Django's last-resort answer (``handler500``): never a stack trace, never HTML to a client
that expects JSON, and a database outage told apart from a fault of ours.

Views that know a database outage answer it themselves (``tenants.auth.outage``); this is for
everything else: a view or a middleware that raised.
"""

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from tenants.auth import outage

_HTML = "<!doctype html><title>{title}</title><h1>{title}</h1><p>{text}</p>"


def wants_html(request: HttpRequest) -> bool:
    # Browsers (the admin, the portal) send Accept: text/html first; API clients, curl and
    # OAuth clients do not, and get JSON.
    accept = request.headers.get("Accept", "")
    return accept.lstrip().startswith("text/html")


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    if isinstance(exc, outage.OUTAGE_ERRORS):
        outage.note(exc)
        if not wants_html(request):
            return outage.json_response()
        response = HttpResponse(
            _HTML.format(
                title="Temporarily unavailable", text="Please try again in a few seconds."
            ),
            status=503,
        )
        response["Retry-After"] = str(outage.DatabaseUnavailable().retry_after)
        return response
    if wants_html(request):
        return _server_error_page()
    return JsonResponse(
        {"error": "server_error", "error_description": "Internal error."}, status=500
    )


def _server_error_page() -> HttpResponse:
    # The branded page, or the bare one if even a template cannot be rendered now.
    try:
        return HttpResponse(loader.get_template("500.html").render(), status=500)
    except Exception:  # noqa: BLE001 (the last resort must answer)
        return HttpResponse(
            _HTML.format(title="Server error", text="Something went wrong on our side."),
            status=500,
        )
