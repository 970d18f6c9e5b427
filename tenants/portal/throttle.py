"""Sign-in throttling: attempts per client address per minute, counted in the default cache
(Redis when configured, so every instance counts together)."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mcpserver.conf import mcp_settings


def _address(request: HttpRequest) -> str:
    return str(getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR") or "-")


def sign_in_refusal(request: HttpRequest) -> HttpResponse | None:
    """A 429 page once this address made more than SIGN_IN_ATTEMPTS_PER_MINUTE attempts in
    the current minute; None (and the attempt counted) otherwise."""
    limit = int(mcp_settings.SIGN_IN_ATTEMPTS_PER_MINUTE)
    window = int(time.time() // 60)
    key = f"signin:{_address(request)}:{window}"
    try:
        cache.add(key, 0, timeout=120)
        count = cache.incr(key)
    except Exception:  # noqa: BLE001 - a cache outage must not open sign-in to floods either
        count = limit + 1
    if count <= limit:
        return None
    response = render(
        request,
        "portal/sign_in_failed.html",
        {"message": "Too many sign-in attempts from your address. Wait a minute and try again."},
        status=429,
    )
    response["Retry-After"] = str(60 - int(time.time()) % 60)
    return response
