"""Reading a tenant's secrets: opened only where they are used, never cached in plaintext.

The value is sealed with the store's key ring (AES-256-GCM) and the associated data
``tenant-secret|<tenant id>|<name>``, so a sealed value copied to another row does not open.
"""

from sessions_store.crypto import get_keyring
from tenants.models import TenantSecret


class SecretMissing(LookupError):
    """The tenant has no secret of that name (or its value no longer opens)."""


def aad(*, tenant_id: int, name: str) -> bytes:
    return f"tenant-secret|{tenant_id}|{name}".encode()


def seal(*, tenant_id: int, name: str, value: str) -> bytes:
    return get_keyring().seal(value.encode(), aad=aad(tenant_id=tenant_id, name=name))


def secret_value(*, tenant_id: int, name: str) -> str:
    row = TenantSecret.objects.filter(tenant_id=tenant_id, name=name).first()
    if row is None:
        raise SecretMissing(name)
    opened = get_keyring().open(bytes(row.sealed), aad=aad(tenant_id=tenant_id, name=name))
    if opened is None:
        raise SecretMissing(name)
    return opened.decode()


def secret_exists(*, tenant_id: int, name: str) -> bool:
    return TenantSecret.objects.filter(tenant_id=tenant_id, name=name).exists()
