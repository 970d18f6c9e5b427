"""Per-operation cost of each tier and Redis bytes per cached principal (``bench_store``).

Figures depend on the machine and its load; compare them with each other rather than with
another machine's.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

from sessions_store.backends.base import entry_name
from sessions_store.local import ProcessCache
from sessions_store.store import Store


def principal(*, tenant_id: int, compact: bool) -> dict[str, Any]:
    """What authentication caches for one credential, with the Principal's field names."""
    fingerprint = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
    value = {
        "tenant_id": tenant_id,
        "tenant_slug": "acme-corp",
        "subject": "auth0|" + secrets.token_hex(12),
        "auth_method": "jwt",
        "fingerprint": fingerprint,
        "scopes": ["tools:read", "tools:call", "resources:read", "prompts:read", "offline"],
        "email": "alice.martin@acme-corp.example",
        "expires_at": int(time.time()) + 3600,
        "credential_id": "https://login.acme-corp.example/",
    }
    if compact:
        # The same facts under one-letter names: what a size-conscious caller would store.
        value = dict(zip("itsmfcexk", value.values(), strict=True))
    return value


def per_op(func: Callable[[], object], *, iterations: int) -> float:
    """Microseconds per call, best of three rounds (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(iterations):
            func()
        best = min(best, (time.perf_counter() - start) / iterations)
    return best * 1e6


def wait_live(store: Store, *, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.backend.process_cache_allowed():
            return True
        time.sleep(0.02)
    return False


def run(*, store: Store, iterations: int, principals: int) -> Iterator[str]:
    key = "bench:" + secrets.token_hex(8)
    group = "bench-tenant:" + secrets.token_hex(8)
    value = principal(tenant_id=42, compact=False)
    store.set_json(key, value, ttl=600, groups=[group])
    live = wait_live(store)
    store.get(key)
    yield f"backend: {type(store.backend).__name__} (process tier live: {live})"
    yield f"process-tier hit, get_json:      {per_op(lambda: store.get_json(key), iterations=iterations):8.1f} µs"  # noqa: E501
    yield f"process-tier hit, get (bytes):   {per_op(lambda: store.get(key), iterations=iterations):8.1f} µs"  # noqa: E501

    # The shared tier alone: a store on the same backend whose process tier holds nothing.
    cold = Store.__new__(Store)
    cold.__dict__.update(store.__dict__)
    cold.cache = ProcessCache(max_size=0, ttl=0)
    shared_iterations = max(100, iterations // 20)
    cost = per_op(lambda: cold.get_json(key), iterations=shared_iterations)
    yield f"shared-tier hit (fetch+decrypt): {cost:8.1f} µs"
    cost = per_op(
        lambda: store.set_json(key, value, ttl=600, groups=[group]), iterations=shared_iterations
    )
    yield f"set_json with one group:         {cost:8.1f} µs"

    async def async_hits(target: Store, count: int) -> float:
        await target.aget_json(key)  # connects
        start = time.perf_counter()
        for _ in range(count):
            await target.aget_json(key)
        elapsed = time.perf_counter() - start
        await target.aclose()
        return elapsed / count * 1e6

    store.get(key)
    yield f"aget_json, process-tier hit:     {asyncio.run(async_hits(store, iterations)):8.1f} µs"
    cost = asyncio.run(async_hits(cold, shared_iterations))
    yield f"aget_json, shared-tier hit:      {cost:8.1f} µs"
    store.delete_group(group)
    yield from _memory(store=store, principals=principals)


def _memory(*, store: Store, principals: int) -> Iterator[str]:
    client = getattr(store.backend, "_client", None)
    if client is None:
        yield "memory: not measured (database backend)"
        return
    layouts = {
        "entry only": lambda tenant, fp: [],
        "entry + tenant group": lambda tenant, fp: [tenant],
        "entry + tenant group + one-member group": lambda tenant, fp: [tenant, f"p:{fp}"],
    }
    for label, groups_of in layouts.items():
        tenant = "bench-tenant:" + secrets.token_hex(8)
        client.execute_command("MEMORY", "PURGE")
        before = int(client.info("memory")["used_memory"])
        written: list[tuple[str, list[str]]] = []
        size = 0
        for _ in range(principals):
            value = principal(tenant_id=42, compact=False)
            key = f"auth:42:{value['fingerprint']}"
            groups = groups_of(tenant, value["fingerprint"])
            store.set_json(key, value, ttl=3600, groups=groups)
            written.append((key, groups))
            size = len(store.get(key) or b"")
        after = int(client.info("memory")["used_memory"])
        usage = [int(client.memory_usage(entry_name(k), samples=0)) for k, _ in written[:200]]
        yield (
            f"memory, {label}: MEMORY USAGE of an entry {sum(usage) / len(usage):.0f} B, "
            f"used_memory growth {(after - before) / principals:.0f} B per principal "
            f"(principal JSON {size} B)"
        )
        for key, groups in written:
            store.delete(key)
            for group in groups[1:]:
                store.delete_group(group)
        store.delete_group(tenant)
