"""The broker's signing keys: ES256 private keys sealed in the key ring, rotated by age,
retired keys published until the last token they signed has expired."""

from __future__ import annotations

import secrets as token_secrets
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction
from django.utils import timezone

from mcpserver.conf import mcp_settings
from sessions_store.crypto import get_keyring
from tenants.auth import jwtkit
from tenants.models import BrokerSigningKey, Tenant
from tenants.oauth import issuer

ALGORITHM = "ES256"


def _aad(*, tenant_id: int, kid: str) -> bytes:
    return f"broker-key|{tenant_id}|{kid}".encode()


def _new_key(tenant: Tenant) -> BrokerSigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    kid = f"{tenant.slug[:20]}-{token_secrets.token_hex(8)}"
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return BrokerSigningKey.objects.create(
        tenant=tenant,
        kid=kid,
        algorithm=ALGORITHM,
        sealed_private=get_keyring().seal(pem, aad=_aad(tenant_id=tenant.pk, kid=kid)),
        public_jwk=jwtkit.jwk_of(private, algorithm=ALGORITHM, kid=kid),
    )


@transaction.atomic
def current_key(tenant: Tenant) -> BrokerSigningKey:
    """The key that signs the tenant's tokens now; made on first use, replaced when old."""
    # Locking the tenant row serialises instances racing to make or rotate the key.
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    key = BrokerSigningKey.objects.filter(tenant=tenant, retired_at__isnull=True).first()
    max_age = timedelta(seconds=int(mcp_settings.BROKER_KEY_MAX_AGE))
    if key is not None and timezone.now() - key.created_at < max_age:
        return key
    return rotate(tenant)


@transaction.atomic
def rotate(tenant: Tenant) -> BrokerSigningKey:
    BrokerSigningKey.objects.filter(tenant=tenant, retired_at__isnull=True).update(
        retired_at=timezone.now()
    )
    return _new_key(tenant)


def published_keys(tenant: Tenant) -> list[dict[str, Any]]:
    """The public JWKs a validator needs: the current key and every retired key whose last
    token may not have expired yet (its lifetime plus the validator's clock leeway)."""
    grace = int(mcp_settings.BROKER_ACCESS_TOKEN_TTL) + int(mcp_settings.JWT_LEEWAY) + 60
    cutoff = timezone.now() - timedelta(seconds=grace)
    rows = BrokerSigningKey.objects.filter(tenant=tenant).exclude(retired_at__lt=cutoff)
    return [dict(row.public_jwk) for row in rows]


def _open(key: BrokerSigningKey) -> bytes | None:
    return get_keyring().open(
        bytes(key.sealed_private), aad=_aad(tenant_id=key.tenant_id, kid=key.kid)
    )


def sign(tenant: Tenant, claims: dict[str, Any]) -> str:
    key = current_key(tenant)
    pem = _open(key)
    if pem is None:  # sealed by a key the ring no longer holds: start a new key
        key = rotate(tenant)
        pem = _open(key)
    if pem is None:
        raise RuntimeError("a freshly sealed broker key does not open")
    private = serialization.load_pem_private_key(pem, password=None)
    return jwtkit.sign(claims, private_key=private, algorithm=key.algorithm, kid=key.kid)


def own_published(jwks_uri: str) -> list[dict[str, Any]] | None:
    """The published keys behind ``jwks_uri`` when it is one of this server's own broker
    JWKS URLs (read from the database: no request to ourselves, nothing to reach through a
    proxy), or None for any other URL. An unknown or direct-mode tenant publishes nothing."""
    prefix = f"{mcp_settings.PUBLIC_URL}/oauth/"
    if not (jwks_uri.startswith(prefix) and jwks_uri.endswith("/jwks")):
        return None
    slug = jwks_uri[len(prefix) : -len("/jwks")]
    tenant = issuer.broker_tenant(slug) if slug and "/" not in slug else None
    if tenant is None:
        return []
    current_key(tenant)
    return published_keys(tenant)
