"""How the admin shows and checks an identity provider's signing keys (tenants.auth.keystatus)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from mcpserver.conf import mcp_settings
from tenants.auth import keystatus
from tenants.models import IdentityProvider


def key_status_html(provider: IdentityProvider) -> str:
    if provider.keys_checked_at is None:
        return format_html("<span>{}</span>", "not fetched yet")
    checked = timezone.localtime(provider.keys_checked_at).strftime("%Y-%m-%d %H:%M:%S")
    if provider.keys_error:
        return format_html(
            '<strong style="color:#ba2121">failing</strong> since the check at {}: {}',
            checked,
            provider.keys_error,
        )
    stale = provider.keys_refreshed_at is not None and (
        timezone.now() - provider.keys_refreshed_at
    ).total_seconds() > float(mcp_settings.JWKS_CACHE_TTL)
    return format_html(
        '<strong style="color:{}">{}</strong>, {} key(s): {} (fetched {})',
        "#b26b00" if stale else "#1f7a4d",
        "stale" if stale else "ok",
        len(provider.key_ids),
        ", ".join(provider.key_ids) or "none",
        checked,
    )


def report_key_check(model_admin: Any, request: HttpRequest, provider: IdentityProvider) -> None:
    """Fetch the keys now and tell the admin user what came back."""
    if not provider.enabled:
        return
    outcome = keystatus.check(provider)
    if outcome.ok:
        model_admin.message_user(
            request,
            f"Signing keys fetched from {provider.issuer}: {', '.join(outcome.key_ids) or 'none'}.",
            messages.SUCCESS,
        )
    else:
        model_admin.message_user(
            request,
            f"Could not fetch the signing keys of {provider.issuer}: {outcome.error}",
            messages.WARNING,
        )
