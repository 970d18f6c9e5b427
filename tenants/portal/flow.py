"""The sign-in flow's views: mozilla-django-oidc's, given an ``OidcClient`` per request.

One callback URL serves every client (``/oidc/callback/``): the start view records, beside
the library's state in the session, which client the state belongs to, so the callback knows
whose token endpoint to ask whatever instance it lands on.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from tenants.models import Tenant
from tenants.portal import throttle
from tenants.portal.backends import CALLBACK_URL_NAME, canonical_callback
from tenants.portal.oidc import (
    STAFF,
    OidcClient,
    SignInUnavailable,
    staff_client,
    tenant_client,
)

logger = logging.getLogger(__name__)
_FLOWS = "mcp_oidc_flows"
_MAX_FLOWS = 10


class _StartView(OIDCAuthenticationRequestView):
    def __init__(self, *, client: OidcClient, next_url: str, **kwargs: Any) -> None:
        self.client = client
        self.next_url = next_url
        self.OIDC_OP_AUTH_ENDPOINT = client.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = client.client_id

    def get_settings(self, attr: str, *args: Any) -> Any:
        per_client = {
            "OIDC_RP_SCOPES": self.client.scopes,
            "OIDC_AUTHENTICATION_CALLBACK_URL": CALLBACK_URL_NAME,
            "OIDC_USE_NONCE": True,
            "OIDC_USE_PKCE": True,
            "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
            "OIDC_REDIRECT_FIELD_NAME": "next",
        }
        if attr in per_client:
            return per_client[attr]
        return OIDCAuthenticationRequestView.get_settings(attr, *args)

    def get(self, request: HttpRequest) -> HttpResponse:
        response = super().get(request)
        location = urlsplit(response["Location"])
        params = parse_qs(location.query)
        state = params["state"][0]
        # The callback registered at the provider is the canonical one (MCP_PUBLIC_URL), not
        # whichever host name this instance was reached by.
        params["redirect_uri"] = [canonical_callback()]
        response["Location"] = urlunsplit(location._replace(query=urlencode(params, doseq=True)))
        flows = dict(request.session.get(_FLOWS, {}))
        flows[state] = {"kind": self.client.kind, "tenant": self.client.tenant_slug}
        request.session[_FLOWS] = dict(list(flows.items())[-_MAX_FLOWS:])
        request.session["oidc_login_next"] = self.next_url
        return response


def _unavailable(request: HttpRequest, message: str, status: int = 503) -> HttpResponse:
    return render(request, "portal/sign_in_failed.html", {"message": message}, status=status)


@never_cache
def start_tenant(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = get_object_or_404(Tenant, slug=slug, status=Tenant.Status.ACTIVE)
    if refusal := throttle.sign_in_refusal(request):
        return refusal
    try:
        client = tenant_client(tenant)
    except SignInUnavailable as exc:
        return _unavailable(request, str(exc), status=404)
    next_url = reverse("portal-home", args=[slug])
    # The tenant's authorization server (broker mode) sends its users here to sign in and
    # back to the authorization request they came from: only that path is taken as next.
    asked = request.GET.get("next", "")
    if asked.startswith(f"/oauth/{slug}/authorize?") and "\\" not in asked:
        next_url = asked
    view = _StartView(client=client, next_url=next_url)
    view.setup(request)
    return view.get(request)


@never_cache
def start_staff(request: HttpRequest) -> HttpResponse:
    if refusal := throttle.sign_in_refusal(request):
        return refusal
    try:
        client = staff_client()
    except SignInUnavailable as exc:
        logger.warning("staff sign-in unavailable: %s", exc)
        return _unavailable(request, "Single sign-on is not available right now.")
    view = _StartView(client=client, next_url=reverse("admin:index"))
    view.setup(request)
    return view.get(request)


class _CallbackView(OIDCAuthenticationCallbackView):
    failure_target = "/"

    @property
    def failure_url(self) -> str:
        return self.failure_target

    def login_failure(self) -> HttpResponse:
        reason = getattr(self.request, "oidc_failure", "")
        if reason:
            logger.warning("sign-in refused: %s", reason)
        return _unavailable(
            self.request,
            "Signing in did not succeed. Your account may not be allowed here, or the sign-in "
            "took too long. Please try again.",
            status=403,
        )


@never_cache
def callback(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    flow = request.session.get(_FLOWS, {}).get(state)
    if not isinstance(flow, dict):
        return _unavailable(
            request, "This sign-in link has expired or was already used. Please start again.", 400
        )
    try:
        if flow.get("kind") == STAFF:
            client = staff_client()
        else:
            tenant = get_object_or_404(Tenant, slug=flow.get("tenant"), status="active")
            client = tenant_client(tenant)
    except SignInUnavailable as exc:
        return _unavailable(request, str(exc))
    request.oidc_client = client  # type: ignore[attr-defined]
    view = _CallbackView()
    view.setup(request)
    # The library raises SuspiciousOperation (a 400) for a state it does not know.
    return view.get(request)
