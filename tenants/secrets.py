"""Tenant secrets, for the code that sends them out: the one reader of their values.

Secrets are set (and replaced, and removed) by ``tenants.services.tenant_secret_set`` and
``tenant_secret_delete`` only: the admin and ``set_tenant_secret`` call those. What code
that makes outbound requests needs is here:

- ``secret_value(*, tenant_id, name) -> str``: the clear value, for the request being built;
- ``expand(template, *, tenant_id) -> str``: a template whose ``{secret:NAME}`` references
  are replaced by the values;
- ``expand_headers(headers, *, tenant_id) -> Expanded`` (and ``aexpand_headers`` for the
  event loop): every value of a header dict expanded, with one query for all the names
  referenced; ``Expanded.headers`` goes into the request, ``Expanded.scrub(text)`` takes the
  values back out of what an upstream answers, in case it echoes them.

They raise ``SecretMissing`` (not set, or sealed under a key the ring no longer has), whose
message names the secret but never shows a value. A value handed out here goes into the
request and nowhere else: not into a log line, an exception, an audit row or a task argument.

Values are sealed with the store's key ring (AES-256-GCM, ``sessions_store.crypto``) with the
tenant's id and the secret's name as associated data, so a sealed value copied to another
tenant or another name does not open. ``rotate_encryption_key`` re-seals them (``reseal``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from channels.db import database_sync_to_async

from mcpserver.logging import mark_secret
from sessions_store.crypto import get_keyring
from tenants.upstreams.spec import SECRET_REF_RE


class SecretMissing(Exception):
    """A referenced secret is not set or cannot be opened; the message is safe to log."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the tenant secret {name!r} is not set")
        self.name = name


def _aad(tenant_id: int, name: str) -> bytes:
    return f"tenant-secret:{tenant_id}:{name}".encode()


def seal(*, tenant_id: int, name: str, value: str) -> bytes:
    return get_keyring().seal(value.encode(), aad=_aad(tenant_id, name))


def _open(tenant_id: int, name: str, sealed: bytes | memoryview) -> str | None:
    opened = get_keyring().open(bytes(sealed), aad=_aad(tenant_id, name))
    return None if opened is None else opened.decode()


def _values(tenant_id: int, names: Iterable[str]) -> dict[str, str]:
    from tenants.models import TenantSecret

    wanted = set(names)
    if not wanted:
        return {}
    rows = TenantSecret.objects.filter(tenant_id=tenant_id, name__in=wanted)
    found: dict[str, str] = {}
    for name, sealed in rows.values_list("name", "sealed"):
        value = _open(tenant_id, name, sealed)
        if value is not None:
            # From now on this process's log lines never show it, whatever prints it.
            mark_secret(value)
            found[name] = value
    for name in sorted(wanted):
        if name not in found:
            raise SecretMissing(name)
    return found


def secret_value(*, tenant_id: int, name: str) -> str:
    """The value of the tenant's secret ``name`` (blocking: a database query)."""
    return _values(tenant_id, [name])[name]


def references(template: str) -> list[str]:
    """The secret names ``template`` references, in order."""
    return SECRET_REF_RE.findall(template)


def _substitute(template: str, values: Mapping[str, str]) -> str:
    return SECRET_REF_RE.sub(lambda found: values[found.group(1)], template)


def expand(template: str, *, tenant_id: int) -> str:
    return _substitute(template, _values(tenant_id, references(template)))


# Shorter values are not scrubbed from answers: replacing them would garble ordinary text.
_SCRUB_MIN = 8


@dataclass(frozen=True, slots=True)
class Expanded:
    """Headers with their secrets filled in; its ``repr`` shows neither."""

    headers: dict[str, str] = field(repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def scrub(self, text: str) -> str:
        """``text`` with every secret value used here replaced by ``[secret]``."""
        for value in self.secrets:
            if len(value) >= _SCRUB_MIN and value in text:
                text = text.replace(value, "[secret]")
        return text


def expand_headers(headers: Mapping[str, str], *, tenant_id: int) -> Expanded:
    values = _values(tenant_id, [n for t in headers.values() for n in references(t)])
    return Expanded(
        headers={name: _substitute(template, values) for name, template in headers.items()},
        secrets=tuple(values.values()),
    )


async def aexpand_headers(headers: Mapping[str, str], *, tenant_id: int) -> Expanded:
    if not any("{secret:" in template for template in headers.values()):
        return Expanded(headers=dict(headers))
    expanded: Expanded = await database_sync_to_async(expand_headers)(headers, tenant_id=tenant_id)
    return expanded


def reseal() -> dict[str, int]:
    """Re-seal every secret not sealed by the key ring's first key (``rotate_encryption_key``).

    Each row is replaced only if it still holds what was read, so a secret set meanwhile
    keeps its new value."""
    from tenants.models import TenantSecret

    keyring = get_keyring()
    counts = {"tenant_secrets_current": 0, "tenant_secrets_rotated": 0}
    counts["tenant_secrets_unreadable"] = 0
    rows = TenantSecret.objects.values_list("pk", "tenant_id", "name", "sealed")
    for pk, tenant_id, name, sealed in rows.iterator():
        sealed = bytes(sealed)
        if keyring.sealed_by_primary(sealed):
            counts["tenant_secrets_current"] += 1
            continue
        value = _open(tenant_id, name, sealed)
        if value is None:
            counts["tenant_secrets_unreadable"] += 1
            continue
        fresh = seal(tenant_id=tenant_id, name=name, value=value)
        changed = TenantSecret.objects.filter(pk=pk, sealed=sealed).update(sealed=fresh)
        counts["tenant_secrets_rotated"] += changed
    return counts
