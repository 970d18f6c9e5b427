"""Page security the settings cannot express: a strict Content-Security-Policy on the portal,
the sign-in pages and the API's browsable pages, and throttled password sign-in to admin."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

from tenants.portal import throttle

# No inline script or style anywhere on these pages: everything is a static file.
STRICT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
_STRICT_PREFIXES = ("/portal/", "/oidc/", "/api/")


class PageSecurityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._admin_login: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(_STRICT_PREFIXES) and _has_nul(request):
            # No text column takes NUL (PostgreSQL refuses it): say so before any query.
            return _bad_input(request)
        if self._admin_login is None:
            self._admin_login = reverse("admin:login")
        is_login = request.method == "POST" and request.path == self._admin_login
        if is_login and (refusal := throttle.sign_in_refusal(request)):
            return refusal
        response = self.get_response(request)
        if request.path.startswith(_STRICT_PREFIXES):
            response.headers.setdefault("Content-Security-Policy", STRICT_CSP)
            response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    return any("\x00" in key or "\x00" in value for key, value in request.GET.items())


def _bad_input(request: HttpRequest) -> HttpResponse:
    message = "The address holds a NUL character."
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "invalid", "message": message}}, status=400)
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
