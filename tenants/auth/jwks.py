"""Identity providers' signing keys: discovered, fetched, shared, and kept warm.

Keys live in the shared store under ``jwks:<provider id>``. The store seals every entry with
AES-256-GCM bound to its key, so write access to Redis alone cannot plant a signing key. Each
process keeps the parsed keys for ``PROCESS_TTL`` seconds, so a cold instance with a warm
shared cache validates its first token without a network call.

An unknown ``kid`` may mean the provider rotated its keys, or a forged token. It re-reads the
shared entry at most once per second per provider in a process, and refetches from the network
at most once per ``JWKS_REFETCH_COOLDOWN`` per provider across every instance (a lock in the
shared cache), with concurrent requests in a process waiting on the same fetch.
"""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from asgiref.sync import sync_to_async
from django.core.cache import cache
from django_redis.exceptions import ConnectionInterrupted
from jwt import PyJWK
from redis.exceptions import RedisError

from mcpserver.conf import mcp_settings
from mcpserver.process import process_state
from sessions_store.store import get_store
from tenants import outbound
from tenants.audit import Actor, audit_record
from tenants.auth import background, jwtkit
from tenants.auth.tenantcache import ProviderConfig
from tenants.models import AuditLog, IdentityProvider
from tenants.oauth import keys as broker_keys
from tenants.outbound import OutboundError, OutboundPolicy, OutboundRefused

logger = logging.getLogger(__name__)

PROCESS_TTL = 60.0
# An unknown kid re-reads the shared entry at most this often per provider in one process.
RECHECK_INTERVAL = 1.0
MAX_DOCUMENT_BYTES = 512 * 1024


class JwksError(Exception):
    """Discovery or fetching failed; the message is safe to log."""


class JwksRefused(JwksError):
    """A discovery or JWKS URL leads where this provider may not reach (private address,
    plain http to a public host); the message is safe to log."""


@dataclass
class KeySet:
    issuer: str
    jwks_uri: str
    keys: list[dict[str, Any]]
    fetched_at: float
    loaded_at: float = field(default_factory=time.monotonic)
    _parsed: dict[tuple[str | None, str], PyJWK | None] = field(default_factory=dict)

    def find(self, kid: str | None, alg: str) -> PyJWK | None:
        if (kid, alg) in self._parsed:
            return self._parsed[(kid, alg)]
        if kid is not None:
            candidates = [jwk for jwk in self.keys if jwk.get("kid") == kid]
        else:  # without a kid, only an unambiguous key set will do
            candidates = self.keys if len(self.keys) == 1 else []
        key = next((k for k in (jwtkit.load_key(j, algorithm=alg) for j in candidates) if k), None)
        if len(self._parsed) < 256:
            self._parsed[(kid, alg)] = key
        return key

    def has_kid(self, kid: str | None) -> bool:
        return kid is not None and any(jwk.get("kid") == kid for jwk in self.keys)

    def to_json(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "keys": self.keys,
            "fetched_at": self.fetched_at,
        }


# Counts network fetches of JWKS documents in this process (the benchmark shows it stays 0
# while warm), their failures, discoveries and refetches skipped for the cooldown; exported
# as mcp_jwks_* by mcpserver.observability.
stats = process_state.counter("jwks.stats")

_process: dict[int, KeySet] = process_state.cache("jwks.keysets")
_rechecked_at: dict[int, float] = process_state.cache("jwks.rechecked_at")
_last_attempt: dict[int, float] = process_state.cache("jwks.last_attempt")
_failed_at: dict[int, float] = process_state.cache("jwks.failed_at")
_inflight: dict[tuple[int, int], asyncio.Task[KeySet | None]] = process_state.cache("jwks.inflight")


def fetch_times() -> dict[str, float]:
    """When the keys this process holds were fetched (Unix time), by issuer."""
    times: dict[str, float] = {}
    for keyset in list(_process.values()):
        times[keyset.issuer] = max(times.get(keyset.issuer, 0.0), keyset.fetched_at)
    return times


def store_key(provider_id: int) -> str:
    return f"jwks:{provider_id}"


# --- network -------------------------------------------------------------------------------


def policy_for(provider: ProviderConfig) -> OutboundPolicy:
    """Discovery and JWKS requests: no redirects (one could lead anywhere), a short timeout,
    a small document, and the private network only if the provider is allowed it."""
    return OutboundPolicy(
        allow_private=provider.allow_private_network,
        timeout=float(mcp_settings.JWKS_FETCH_TIMEOUT),
        max_bytes=MAX_DOCUMENT_BYTES,
        max_redirects=0,
    )


def _get_json(url: str, policy: OutboundPolicy) -> Any:
    try:
        return outbound.get_json(url, policy=policy)
    except OutboundRefused as exc:
        raise JwksRefused(str(exc)) from exc
    except OutboundError as exc:
        raise JwksError(str(exc)) from exc


def discovery_urls(issuer: str) -> list[str]:
    """RFC 8414 (well-known segment before the issuer's path), then OpenID Connect Discovery
    (appended to the issuer)."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    rfc8414 = urlunsplit(
        (parts.scheme, parts.netloc, f"/.well-known/oauth-authorization-server{path}", "", "")
    )
    oidc = issuer.rstrip("/") + "/.well-known/openid-configuration"
    return [rfc8414, oidc]


def discover_jwks_uri(issuer: str, *, policy: OutboundPolicy) -> str:
    stats["discoveries"] += 1
    failures: list[str] = []
    for url in discovery_urls(issuer):
        try:
            metadata = _get_json(url, policy)
        except JwksRefused:
            raise  # the other document lives on the same host: it would be refused too
        except JwksError as exc:
            failures.append(str(exc))
            continue
        if not isinstance(metadata, dict) or metadata.get("issuer") != issuer:
            failures.append(f"{url}: issuer in metadata does not match")
            continue
        jwks_uri = metadata.get("jwks_uri")
        if isinstance(jwks_uri, str):
            return jwks_uri
        failures.append(f"{url}: no jwks_uri")
    raise JwksError("discovery failed: " + "; ".join(failures))


def fetch(provider: ProviderConfig) -> KeySet:
    """Fetch the provider's keys from the network (blocking). Raises JwksError."""
    try:
        return _fetch(provider)
    except JwksError:
        stats["fetch_failures"] += 1
        raise


def _fetch(provider: ProviderConfig) -> KeySet:
    own = broker_keys.own_published(provider.jwks_uri) if provider.jwks_uri else None
    if own is not None:  # a broker-mode tenant's own authorization server: its keys are ours
        return KeySet(
            issuer=provider.issuer, jwks_uri=provider.jwks_uri, keys=own, fetched_at=time.time()
        )
    policy = policy_for(provider)
    jwks_uri = provider.jwks_uri or discover_jwks_uri(provider.issuer, policy=policy)
    stats["fetches"] += 1
    document = _get_json(jwks_uri, policy)
    raw_keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(raw_keys, list):
        raise JwksError(f"{jwks_uri} is not a JWK set")
    keys = [k for k in (jwtkit.public_jwk(item) for item in raw_keys) if k is not None]
    return KeySet(issuer=provider.issuer, jwks_uri=jwks_uri, keys=keys, fetched_at=time.time())


def _share(provider: ProviderConfig, keyset: KeySet) -> None:
    get_store().set_json(
        store_key(provider.id),
        keyset.to_json(),
        ttl=mcp_settings.JWKS_CACHE_TTL,
        groups=[f"idp:{provider.id}"],
    )


def refresh(provider: ProviderConfig) -> KeySet:
    """Fetch and share the provider's keys now (the refresh task and command). Blocking."""
    keyset = fetch(provider)
    _share(provider, keyset)
    _process[provider.id] = keyset
    return keyset


def _audit_refusal(provider_id: int, reason: str) -> None:
    provider = IdentityProvider.objects.select_related("tenant").filter(pk=provider_id).first()
    if provider is None:
        return
    audit_record(
        actor=Actor.system("jwks"),
        action="identity_provider.fetch_refused",
        tenant=provider.tenant,
        target=provider.issuer,
        outcome=AuditLog.Outcome.DENIED,
        details={"provider_id": provider_id, "reason": reason},
    )


# --- the shared entry ---------------------------------------------------------------------


def _from_shared(provider: ProviderConfig, entry: Any) -> KeySet | None:
    if not isinstance(entry, dict) or entry.get("issuer") != provider.issuer:
        return None
    if provider.jwks_uri and entry.get("jwks_uri") != provider.jwks_uri:
        return None  # the provider's configuration changed since this was fetched
    keys = entry.get("keys")
    if not isinstance(keys, list):
        return None
    return KeySet(
        issuer=provider.issuer,
        jwks_uri=str(entry.get("jwks_uri")),
        keys=[k for k in keys if isinstance(k, dict)],
        fetched_at=float(entry.get("fetched_at", 0)),
    )


async def _read_shared(provider: ProviderConfig) -> KeySet | None:
    keyset = _from_shared(provider, await get_store().aget_json(store_key(provider.id)))
    if keyset is not None:
        known = _process.get(provider.id)
        if known is not None and known.fetched_at == keyset.fetched_at:
            known.loaded_at = time.monotonic()  # same keys: keep the parsed ones
            return known
        _process[provider.id] = keyset
    return keyset


async def _fetch_and_share(provider: ProviderConfig, *, cold: bool) -> KeySet | None:
    now = time.monotonic()
    cooldown = mcp_settings.JWKS_REFETCH_COOLDOWN
    # After a failure, wait a cooldown before trying again (the provider may be down).
    last = (_failed_at if cold else _last_attempt).get(provider.id, -cooldown)
    if now - last < cooldown:
        stats["cooldown_refusals"] += 1
        return None
    if not cold:
        # One refetch per provider per cooldown across every instance.
        _last_attempt[provider.id] = now
        try:
            acquired = await cache.aadd(f"jwks-refetch:{provider.id}", 1, timeout=cooldown)
        except (RedisError, ConnectionInterrupted, OSError) as exc:
            # Without the lock, no refetch: the token is refused rather than risk a stampede.
            logger.warning("JWKS refetch lock unavailable (%s)", type(exc).__name__)
            return None
        if not acquired:
            return None
    try:
        keyset = await sync_to_async(fetch, thread_sensitive=False)(provider)
    except JwksError as exc:
        logger.warning("JWKS fetch for provider %s failed: %s", provider.id, exc)
        if isinstance(exc, JwksRefused):
            background.spawn(_audit_refusal, provider.id, str(exc))
        _failed_at[provider.id] = _last_attempt[provider.id] = time.monotonic()
        return None
    await get_store().aset_json(
        store_key(provider.id),
        keyset.to_json(),
        ttl=mcp_settings.JWKS_CACHE_TTL,
        groups=[f"idp:{provider.id}"],
    )
    _process[provider.id] = keyset
    return keyset


async def _reload(provider: ProviderConfig, *, cold: bool, seen: KeySet | None) -> KeySet | None:
    shared = await _read_shared(provider)
    if shared is not None and (cold or seen is None or shared.fetched_at != seen.fetched_at):
        return shared  # keys this process had not seen yet: no need for the network
    return await _fetch_and_share(provider, cold=cold)


async def _single_flight(provider: ProviderConfig, *, cold: bool) -> KeySet | None:
    """Concurrent requests in this process share one store read and at most one fetch."""
    slot = (provider.id, id(asyncio.get_running_loop()))
    task = _inflight.get(slot)
    if task is None or task.done():
        seen = _process.get(provider.id)
        task = asyncio.ensure_future(_reload(provider, cold=cold, seen=seen))
        _inflight[slot] = task
    return await asyncio.shield(task)


async def signing_key(provider: ProviderConfig, *, kid: str | None, alg: str) -> PyJWK | None:
    """The provider's key for ``kid`` bound to ``alg``, or None if it has no such key."""
    keyset = _process.get(provider.id)
    if keyset is None or time.monotonic() - keyset.loaded_at > PROCESS_TTL:
        keyset = await _single_flight(provider, cold=True)
        if keyset is None:
            return None
    key = keyset.find(kid, alg)
    if key is not None or keyset.has_kid(kid):
        return key  # a known kid with another algorithm is a forgery, not a rotation
    now = time.monotonic()
    if now - _rechecked_at.get(provider.id, -RECHECK_INTERVAL) < RECHECK_INTERVAL:
        return None
    _rechecked_at[provider.id] = now
    refreshed = await _single_flight(provider, cold=False)
    return refreshed.find(kid, alg) if refreshed is not None else None
