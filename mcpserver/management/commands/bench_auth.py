"""Cost per request of each authentication path, and JWKS fetches during a warm run.

Creates (or reuses) the tenant ``bench-auth`` with an API key and an identity provider served
by a loopback JWKS server this command starts itself; run it against a development database.
With REDIS_URL set the shared tier is Redis, otherwise the database default.
"""

import asyncio
import hashlib
import json
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from mcpserver.conf import mcp_settings
from mcpserver.protocol.guard import mcp_stack
from sessions_store.backends.base import entry_name
from sessions_store.store import get_store
from tenants import services
from tenants.audit import Actor
from tenants.auth import background, jwks, jwtkit, tenantcache, tokencache
from tenants.auth.authenticator import authenticate, validate_jwt
from tenants.models import Tenant

SLUG = "bench-auth"
TARGETS_US = {"process hit": 20, "shared-tier hit": 300, "full validation RS256": 300}


class _JwksServer:
    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                body = json.dumps({"keys": keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _middleware_call(authorization: str) -> tuple[Any, dict[str, Any], Any, Any]:
    """The middleware stack with an inner app that does nothing, and one request's scope."""

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    host = next((h for h in settings.ALLOWED_HOSTS if not h.startswith(".")), "localhost")
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/mcp/{SLUG}",
        "query_string": b"",
        "headers": [(b"host", host.encode()), (b"authorization", authorization.encode())],
        "client": ("127.0.0.1", 40000),
        "url_route": {"args": (), "kwargs": {"slug": SLUG}},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"the benchmark request was refused: {message['status']}")

    return mcp_stack(inner), scope, receive, send


class Command(BaseCommand):
    help = "Measure the cost per request of each authentication path."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--iterations", type=int, default=2000)

    def handle(self, *args: Any, iterations: int, **options: Any) -> None:
        actor = Actor.system("cli:bench_auth")
        keys: dict[str, Any] = {
            "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ES256": ec.generate_private_key(ec.SECP256R1()),
        }
        server = _JwksServer(
            [jwtkit.jwk_of(k, algorithm=alg, kid=f"bench-{alg}") for alg, k in keys.items()]
        )
        try:
            tenant = Tenant.objects.filter(slug=SLUG).first() or services.tenant_create(
                slug=SLUG, name="Authentication benchmark", actor=actor
            )
            if not tenant.is_active:
                services.tenant_reactivate(tenant=tenant, actor=actor)
            provider = tenant.identity_providers.first()
            if provider is None:
                provider = services.identity_provider_create(
                    tenant=tenant,
                    issuer=server.url,
                    jwks_uri=server.url + "/jwks",
                    allow_private_network=True,  # the benchmark's key server is on loopback
                    actor=actor,
                )
            else:
                provider.issuer, provider.jwks_uri, provider.enabled = (
                    server.url,
                    server.url + "/jwks",
                    True,
                )
                provider.allow_private_network = True
                services.identity_provider_update(
                    provider=provider, changes={"issuer": server.url}, actor=actor
                )
            _, raw_key = services.api_key_create(tenant=tenant, name="bench", actor=actor)
            audience = provider.effective_audience
            now = int(time.time())
            tokens = {
                alg: [
                    jwtkit.sign(
                        {
                            "iss": server.url,
                            "aud": audience,
                            "sub": f"u{i}",
                            "iat": now,
                            "exp": now + 3600,
                            "scope": "tools:read",
                        },
                        private_key=key,
                        algorithm=alg,
                        kid=f"bench-{alg}",
                    )
                    for i in range(iterations if alg == "RS256" else iterations // 2)
                ]
                for alg, key in keys.items()
            }
            results = asyncio.run(self._run(tokens, raw_key, server))
        finally:
            server.stop()
        self._report(results, iterations, server)

    async def _run(
        self, tokens: dict[str, list[str]], raw_key: str, server: _JwksServer
    ) -> dict[str, Any]:
        config = await tenantcache.resolve(SLUG)
        if config is None:
            raise RuntimeError(f"tenant {SLUG} is not active")
        store = get_store()
        out: dict[str, Any] = {}

        async def timed(
            name: str, count: int, call: Callable[[int], Awaitable[Any]],
            before: Callable[[int], Awaitable[None]] | None = None,
        ) -> None:  # fmt: skip
            samples = []
            for i in range(count):
                if before is not None:
                    await before(i)
                started = time.perf_counter()
                await call(i)
                samples.append(time.perf_counter() - started)
            out[name] = samples

        async def drop_process_copy() -> None:
            store.cache.drop((name,))

        async def forget_key() -> None:
            await background.drain()  # the previous iteration's cache write
            await store.adelete(key_name)

        warm = tokens["RS256"][0]
        header = f"Bearer {warm}"
        await authenticate(config, header)  # cold: fetches the JWKS once, caches the principal
        await background.drain()
        cold_fetches = server.hits
        fingerprint = hashlib.sha256(warm.encode()).hexdigest()
        name = entry_name(tokencache.cache_key(config.tenant.pk, fingerprint))
        n = len(tokens["RS256"])

        await timed("process hit", n, lambda i: authenticate(config, header))
        app, scope, receive, send = _middleware_call(header)
        await timed("whole middleware request, process hit", n, lambda i: app(scope, receive, send))
        await timed(
            "shared-tier hit", n, lambda i: authenticate(config, header),
            before=lambda i: drop_process_copy(),
        )  # fmt: skip
        for alg in ("RS256", "ES256"):
            batch = tokens[alg]
            await timed(
                f"full validation {alg}", len(batch),
                lambda i, b=batch: validate_jwt(config, b[i], "x" * 64),  # type: ignore[misc]
            )  # fmt: skip
        # The whole miss path: shared-tier miss, validation, then caching the principal.
        fresh = tokens["RS256"][1:]
        await timed(
            "miss path RS256 (shared miss + validate)", len(fresh),
            lambda i: authenticate(config, f"Bearer {fresh[i]}"),
        )  # fmt: skip
        key_header = f"Bearer {raw_key}"
        key_name = tokencache.cache_key(
            config.tenant.pk, hashlib.sha256(raw_key.encode()).hexdigest()
        )
        await authenticate(config, key_header)
        await background.drain()
        await timed("API key, process hit", n, lambda i: authenticate(config, key_header))
        await timed(
            "API key, miss (database lookup)", min(n, 500),
            lambda i: authenticate(config, key_header),
            before=lambda i: forget_key(),
        )  # fmt: skip
        await background.drain()
        out["warm fetches"] = server.hits - cold_fetches
        out["fetch counter"] = jwks.stats["fetches"]
        return out

    def _report(self, results: dict[str, Any], iterations: int, server: _JwksServer) -> None:
        tier = "redis" if mcp_settings.STORE_CACHE_ALIAS in settings.CACHES else "database"
        self.stdout.write(f"shared tier: {tier}; iterations: {iterations}")
        self.stdout.write(f"{'path':<42}{'median µs':>11}{'p90 µs':>10}{'mean µs':>10}  target")
        for name, samples in results.items():
            if not isinstance(samples, list):
                continue
            us = sorted(s * 1e6 for s in samples)
            target = TARGETS_US.get(name)
            self.stdout.write(
                f"{name:<42}{statistics.median(us):>11.1f}{us[int(len(us) * 0.9)]:>10.1f}"
                f"{statistics.fmean(us):>10.1f}  {f'<= {target}' if target else ''}"
            )
        self.stdout.write(
            f"JWKS fetches during the warm run: {results['warm fetches']} "
            f"(network fetches in this process, cold start included: {results['fetch counter']})"
        )
