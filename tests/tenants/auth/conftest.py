"""Fixtures for authentication tests: a real Redis behind the shared store, a loopback
identity provider, and an ASGI client that drives the real middleware stack."""

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core.cache import caches
from django.test import override_settings
from django_redis import get_redis_connection

from mcpserver.process import process_state
from sessions_store import store as store_module
from sessions_store.cache_config import shared_caches
from tenants import services
from tenants.auth import background
from tenants.models import IdentityProvider, Tenant
from tests.tenants.auth.echo import application
from tests.tenants.auth.idp import LoopbackIdP, SigningKey, new_key


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def challenge(self) -> str | None:
        return self.headers.get("www-authenticate")

    def json(self) -> Any:
        return json.loads(self.body)


async def acall(
    path: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    client: str = "127.0.0.1",
) -> Response:
    raw_path, _, query = path.partition("?")
    all_headers = {"host": "testserver", **(headers or {})}
    if token is not None:
        all_headers["authorization"] = f"Bearer {token}"
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers.items()],
        "client": (client, 50000),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b"{}"})
    start = await communicator.receive_output(5)
    body = await communicator.receive_output(5)
    await communicator.wait(5)
    await background.drain()
    return Response(
        status=start["status"],
        headers={k.decode(): v.decode() for k, v in start.get("headers", [])},
        body=body.get("body", b""),
    )


@pytest.fixture
def call() -> Callable[..., Response]:
    return async_to_sync(acall)


def wait_until_live(store: Any, timeout: float = 3.0) -> None:
    """The store serves its process tier only once its revocation listener is subscribed."""
    deadline = time.monotonic() + timeout
    while not store.backend.process_cache_allowed():
        if time.monotonic() > deadline:
            raise AssertionError("the store's revocation listener did not subscribe")
        time.sleep(0.02)


@pytest.fixture
def shared_store(redis_url: str) -> Iterator[Any]:
    """The real two-tier store on the test Redis, emptied before and after."""
    with override_settings(CACHES=shared_caches(redis_url)):
        get_redis_connection("store").flushdb()
        process_state.reset()
        store = store_module.get_store()
        wait_until_live(store)
        yield store
        process_state.reset()
        get_redis_connection("store").flushdb()
        caches["default"].close()


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, SigningKey]:
    return {"RS256": new_key("RS256", "rsa-1"), "ES256": new_key("ES256", "ec-1")}


@pytest.fixture
def idp(signing_keys: dict[str, SigningKey]) -> Iterator[LoopbackIdP]:
    server = LoopbackIdP(keys=list(signing_keys.values())).start()
    yield server
    server.stop()


@pytest.fixture
def make_provider(actor: Any) -> Callable[..., IdentityProvider]:
    def make(tenant: Tenant, idp: LoopbackIdP, **kwargs: Any) -> IdentityProvider:
        kwargs.setdefault("jwks_uri", idp.jwks_uri)
        # The test identity provider listens on loopback: a private address, allowed here.
        kwargs.setdefault("allow_private_network", True)
        return services.identity_provider_create(
            tenant=tenant, issuer=idp.issuer, actor=actor, **kwargs
        )

    return make
