"""The end users' portal, ``/portal/<slug>/``: plain forms (POST, redirect, GET), no script
needed except the copy buttons. Every change calls a service, so it is audited like admin's.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from sessions_store.crypto import get_keyring
from tenants import selectors as tenant_selectors
from tenants import services
from tenants.audit import Actor
from tenants.models import ApiKey, Membership, PortalSignIn, Tenant
from tenants.portal import selectors
from tenants.portal.clients import configurations
from tenants.usage import tool_usage

View = Callable[..., HttpResponse]
_HELD = "portal_created_key:"


def actor_for(request: HttpRequest, slug: str) -> Actor:
    return Actor(
        name=f"portal:{slug}:{request.user.get_username()}"[:200],
        client_ip=getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR"),
        request_id=getattr(request, "request_id", "-"),
    )


def member_view(*, admin: bool = False) -> Callable[[View], View]:
    """The tenant and the signed-in user's membership, or the sign-in page (403 for a member
    on an admin page)."""

    def decorate(view: View) -> View:
        @wraps(view)
        @never_cache
        def wrapped(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            tenant = get_object_or_404(Tenant, slug=slug, status=Tenant.Status.ACTIVE)
            membership = selectors.membership_of(user=request.user, tenant=tenant)
            if membership is None:
                if request.method != "GET":
                    return redirect("portal-home", slug=slug)
                return sign_in_page(request, tenant)
            if admin and not membership.is_admin:
                return render(request, "portal/forbidden.html", {"tenant": tenant}, status=403)
            return view(request, membership, *args, **kwargs)

        return wrapped

    return decorate


def sign_in_page(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    configured = PortalSignIn.objects.filter(tenant=tenant, enabled=True).exists()
    signed_in_elsewhere = request.user.is_authenticated
    return render(
        request,
        "portal/sign_in.html",
        {"tenant": tenant, "configured": configured, "signed_in_elsewhere": signed_in_elsewhere},
    )


class KeyForm(forms.Form):
    name = forms.CharField(max_length=200)
    scopes = forms.CharField(
        required=False, max_length=500, help_text="Separated by spaces. Blank: no scopes."
    )
    expires_in_days = forms.IntegerField(min_value=1, max_value=365, initial=90)


def _context(membership: Membership, **extra: Any) -> dict[str, Any]:
    return {"tenant": membership.tenant, "membership": membership, **extra}


@member_view()
def home(request: HttpRequest, membership: Membership) -> HttpResponse:
    tenant = membership.tenant
    keys = selectors.personal_keys(membership=membership).order_by("-created_at")
    return render(
        request,
        "portal/home.html",
        _context(
            membership,
            page_id="home",
            endpoint=tenant.resource_identifier,
            configs=configurations(slug=tenant.slug, endpoint=tenant.resource_identifier),
            keys=keys,
            form=KeyForm(),
            seen=selectors.recent_clients(membership=membership),
            now=timezone.now(),
        ),
    )


def _aad(request: HttpRequest, key: ApiKey) -> bytes:
    return f"portal-created-key|{request.session.session_key}|{key.public_id}".encode()


@require_POST
@member_view()
def key_create(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = KeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The key was not created: " + _errors(form.errors))
        return redirect("portal-home", slug=membership.tenant.slug)
    data = form.cleaned_data
    try:
        key, raw = services.personal_key_create(
            membership=membership,
            name=data["name"],
            scopes=data["scopes"].replace(",", " ").split(),
            expires_at=timezone.now() + timedelta(days=data["expires_in_days"]),
            actor=actor_for(request, membership.tenant.slug),
        )
    except ValidationError as exc:
        messages.error(request, "The key was not created: " + " ".join(exc.messages))
        return redirect("portal-home", slug=membership.tenant.slug)
    # Shown once, on the page after the redirect; sealed to this session until then.
    sealed = get_keyring().seal(raw.encode(), aad=_aad(request, key))
    request.session[_HELD + key.public_id] = base64.b64encode(sealed).decode()
    return redirect("portal-key-created", slug=membership.tenant.slug, public_id=key.public_id)


@member_view()
def key_created(request: HttpRequest, membership: Membership, public_id: str) -> HttpResponse:
    key = get_object_or_404(selectors.personal_keys(membership=membership), public_id=public_id)
    held = request.session.pop(_HELD + key.public_id, None)
    opened = get_keyring().open(base64.b64decode(held), aad=_aad(request, key)) if held else None
    raw = opened.decode() if opened else None
    tenant = membership.tenant
    configs = (
        configurations(slug=tenant.slug, endpoint=tenant.resource_identifier, key=raw)
        if raw
        else []
    )
    return render(
        request,
        "portal/key_created.html",
        _context(membership, key=key, raw_key=raw, configs=configs),
    )


@require_POST
@member_view()
def key_revoke(request: HttpRequest, membership: Membership, public_id: str) -> HttpResponse:
    keys = (
        ApiKey.objects.filter(tenant=membership.tenant)
        if membership.is_admin
        else selectors.personal_keys(membership=membership)
    )
    key = get_object_or_404(keys, public_id=public_id)
    services.api_key_revoke(key=key, actor=actor_for(request, membership.tenant.slug))
    messages.success(request, f"The key {key.name} is revoked.")
    return redirect((request.POST.get("back") == "keys" and "portal-keys") or "portal-home",
                    slug=membership.tenant.slug)  # fmt: skip


@require_POST
@member_view()
def sign_out_everywhere(request: HttpRequest, membership: Membership) -> HttpResponse:
    revoked = services.member_sign_out_everywhere(
        membership=membership, actor=actor_for(request, membership.tenant.slug)
    )
    slug = membership.tenant.slug
    logout(request)
    messages.success(
        request,
        f"You are signed out everywhere: {len(revoked)} personal key(s) revoked, and the access "
        "tokens issued to you so far are refused.",
    )
    return redirect("portal-home", slug=slug)


@require_POST
def sign_out(request: HttpRequest, slug: str) -> HttpResponse:
    logout(request)
    return redirect("portal-home", slug=slug)


@member_view(admin=True)
def members(request: HttpRequest, membership: Membership) -> HttpResponse:
    if request.method == "POST":
        target = get_object_or_404(
            Membership, tenant=membership.tenant, pk=request.POST.get("membership", "0") or 0
        )
        actor = actor_for(request, membership.tenant.slug)
        try:
            if request.POST.get("action") == "remove":
                services.membership_remove(membership=target, actor=actor)
            else:
                services.membership_set_role(
                    membership=target, role=request.POST.get("role", ""), actor=actor
                )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("portal-members", slug=membership.tenant.slug)
    return render(
        request,
        "portal/members.html",
        _context(
            membership,
            page_id="members",
            members=selectors.tenant_members(tenant=membership.tenant),
        ),
    )


@member_view(admin=True)
def tenant_keys(request: HttpRequest, membership: Membership) -> HttpResponse:
    keys = ApiKey.objects.filter(tenant=membership.tenant).select_related("owner")
    page = Paginator(keys, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/keys.html",
        _context(membership, page_id="keys", page=page, now=timezone.now()),
    )


@member_view(admin=True)
def audit(request: HttpRequest, membership: Membership) -> HttpResponse:
    rows = tenant_selectors.audit_log_for_tenant(tenant=membership.tenant)
    action = request.GET.get("action", "")[:100]
    if action:
        rows = rows.filter(action=action)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    usage = tool_usage(tenant=membership.tenant, since=timezone.now() - timedelta(days=30))
    return render(
        request,
        "portal/audit.html",
        _context(membership, page_id="audit", page=page, action=action, usage=usage),
    )


def _errors(errors: Any) -> str:
    return " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
