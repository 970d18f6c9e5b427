"""The broker's endpoints: RFC 8414 metadata and the JWKS of its signing keys, and the
authorization flow (django-oauth-toolkit's views with the tenant pinned, S256 PKCE and the
tenant's resource enforced, RFC 9207 ``iss`` added to every authorization response)."""

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import Application
from oauth2_provider.views import AuthorizationView, RevokeTokenView, TokenView
from oauth2_provider.views.dynamic_client_registration import DynamicClientRegistrationView

from tenants.auth import outage
from tenants.models import BrokerClient, Membership, Tenant
from tenants.oauth import consent, context, issuer, keys


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


# --- The authorization flow: django-oauth-toolkit's views, each pinned to one tenant ---


def _oauth_error(error: str, description: str, status: int = 400) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _with_iss(url: str, iss: str) -> str:
    """RFC 9207: the authorization response names the issuer that sent it."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    query.append(("iss", iss))
    return urlunsplit(parts._replace(query=urlencode(query)))


class _Authorize(AuthorizationView):
    template_name = "oauth/consent.html"
    tenant: Tenant

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        tenant = issuer.broker_tenant(kwargs.pop("slug"))
        if tenant is None:
            return _not_found()
        self.tenant = tenant
        with context.serving(tenant):
            if request.method == "GET":
                self.oauth2_data: dict[str, Any] = {}
                refusal = self._refusal(request)
                if refusal is not None:
                    return refusal
            if not self._is_member(request):
                return self._sign_in(request)
            if request.method == "POST":
                refusal = self._stale_or_altered(request)
                if refusal is not None:
                    return refusal
            return super().dispatch(request, *args, **kwargs)

    def _stale_or_altered(self, request: HttpRequest) -> HttpResponse | None:
        verdict = consent.judge(self.tenant.pk, request.POST)
        if not verdict.problem:
            return None
        if verdict.problem != "expired":
            error = {"error": "invalid_request", "description": verdict.problem}
            return render(request, self.template_name, {"error": error}, status=400)
        query = {
            "error": "access_denied",
            "error_description": "The consent page expired before it was answered: try again.",
        }
        if verdict.state:
            query["state"] = verdict.state
        target = verdict.redirect_uri
        separator = "&" if urlsplit(target).query else "?"
        application = Application.objects.filter(client_id=request.POST.get("client_id")).first()
        return self.redirect(f"{target}{separator}{urlencode(query)}", application)

    def _is_member(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_authenticated
            and Membership.objects.filter(user=user, tenant=self.tenant).exists()
        )

    def _sign_in(self, request: HttpRequest) -> HttpResponse:
        start = reverse("portal-sign-in", args=[self.tenant.slug])
        return HttpResponseRedirect(f"{start}?{urlencode({'next': request.get_full_path()})}")

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        """The client and redirect URI checked first (an error for an unknown client or a
        redirect URI it did not register is shown here, never redirected), then what this
        server asks beyond the library: S256 PKCE only, the tenant's resource only."""
        try:
            _scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        problem: tuple[str, str] | None = None
        if not request.GET.get("code_challenge"):
            problem = ("invalid_request", "PKCE is required: send a code_challenge (S256).")
        elif request.GET.get("code_challenge_method") != "S256":
            problem = ("invalid_request", "Only the S256 code_challenge_method is supported.")
        elif any(r != self.tenant.resource_identifier for r in request.GET.getlist("resource")):
            problem = ("invalid_target", "This server issues tokens for its own resource only.")
        if problem is None:
            return None
        query = {"error": problem[0], "error_description": problem[1]}
        if credentials.get("state"):
            query["state"] = credentials["state"]
        target = credentials["redirect_uri"]
        separator = "&" if urlsplit(target).query else "?"
        application = Application.objects.filter(client_id=credentials["client_id"]).first()
        return self.redirect(f"{target}{separator}{urlencode(query)}", application)

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        return super().redirect(_with_iss(redirect_to, issuer.issuer(self.tenant)), application)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        data = super().get_context_data(**kwargs)
        data["tenant"] = self.tenant
        form = data.get("form")
        if form is not None:
            data["consent_ticket"] = consent.ticket(self.tenant.pk, form.initial)
        return data


authorize = never_cache(_Authorize.as_view())


def _pinned(view: Any) -> Any:
    @csrf_exempt
    @never_cache
    def serve(request: HttpRequest, slug: str) -> HttpResponse:
        try:
            tenant = issuer.broker_tenant(slug)
        except outage.OUTAGE_ERRORS as exc:
            outage.note(exc)
            return outage.json_response()
        if tenant is None:
            return _not_found()
        with context.serving(tenant):
            return view(request, tenant)

    return serve


_token_view = TokenView.as_view()
_revoke_view = RevokeTokenView.as_view()
_register_view = DynamicClientRegistrationView.as_view()


@_pinned
def token(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    if any(r != tenant.resource_identifier for r in request.POST.getlist("resource")):
        return _oauth_error(
            "invalid_target", "This server issues tokens for its own resource only."
        )
    return _json_refusal(_token_view(request))


@_pinned
def revoke(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    return _json_refusal(_revoke_view(request))


def _json_refusal(response: HttpResponse) -> HttpResponse:
    """A refusal the library raised past its own handling (a validator's error while saving
    a token) comes back with Django's HTML content type: a client reads it as JSON."""
    if response.status_code < 400 or response.get("Content-Type", "").startswith(
        "application/json"
    ):
        return response
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return _oauth_error("server_error", "The request could not be completed.", status=500)
    return _oauth_error(body["error"], str(body.get("error_description", "")), response.status_code)


@_pinned
def register(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    if request.method != "POST":
        return _oauth_error("invalid_request", "Register with a POST.", status=405)
    with transaction.atomic():
        response = _register_view(request)
        if response.status_code == 201:
            client_id = json.loads(response.content)["client_id"]
            application = Application.objects.get(client_id=client_id)
            BrokerClient.objects.create(tenant=tenant, application=application)
    response["Cache-Control"] = "no-store"
    return response
