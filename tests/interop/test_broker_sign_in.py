"""Sign in once, end to end: the official SDK client, given only the MCP URL, against a
broker-mode tenant served by two real server processes behind a proxy that alternates between
them, the user signing in at the tenant's real OpenID provider (npm oidc-provider).

401 → RFC 9728 → RFC 8414 → dynamic client registration → authorization code + PKCE (the
provider's login form, then the consent page) → a tool call; the access token expires and is
refreshed; both processes restart and the client carries on; a replayed refresh token revokes
its family, the access token the client holds is refused by both processes at once, and the
client is sent through the authorization again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import jwt
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from tests.interop.broker_site import Site, broker_site, run_authorization_suite
from tests.interop.conformance_checks import results as conformance_results
from tests.interop.signin_harness import REDIRECT_URI, Person

pytestmark = [pytest.mark.own_database]

TOKEN_TTL = 2  # seconds: the access tokens expire within the test


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.fail("TEST_REDIS_URL is not set: run the suite with `make test`.")
    tmp = tmp_path_factory.mktemp("broker")
    with broker_site(tmp=tmp, redis_url=redis_url, token_ttl=TOKEN_TTL) as running:
        yield running


class MemoryStorage:
    """What a client keeps between runs: its registration and its tokens."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def sdk_auth(
    url: str, person: Person, storage: MemoryStorage, **options: Any
) -> OAuthClientProvider:
    """The SDK's OAuth side of one long-running client: it keeps its registration, tokens and
    their expiry for as long as it runs."""
    return OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="SDK test client",
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code", "refresh_token"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=person.redirect_handler,
        callback_handler=person.callback_handler,
        **options,
    )


def whoami(url: str, auth: OAuthClientProvider) -> str:
    """Connect with ``auth`` (nothing but the MCP URL besides), call ``whoami``, return its
    text."""

    async def main() -> str:
        async with httpx2.AsyncClient(auth=auth, timeout=15) as http:
            transport = streamable_http_client(url, http_client=http)
            async with Client(transport, mode="legacy") as client:
                result = await client.call_tool("whoami", {})
        assert not result.is_error, result
        return "".join(getattr(block, "text", "") for block in result.content)

    return anyio.run(main)


def token_request(site: Site, **data: str) -> httpx2.Response:
    return httpx2.post(f"{site.public}/oauth/acme/token", data=data, timeout=10)


def initialize(port: int, access_token: str) -> httpx2.Response:
    """An initialize sent to acme straight at one process (not through the proxy)."""
    params = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"},
    }
    return httpx2.post(
        f"http://127.0.0.1:{port}/mcp/acme",
        json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params},
        headers={
            "Authorization": f"Bearer {access_token}",
            "Accept": "application/json, text/event-stream",
        },
        timeout=10,
    )


def test_sign_in_once_refresh_restart_and_a_replayed_refresh_token(site: Site) -> None:
    person, storage = Person("alice"), MemoryStorage()
    auth = sdk_auth(site.mcp_url, person, storage)
    assert "alice" in whoami(site.mcp_url, auth)
    assert (person.authorizations, person.sign_ins) == (1, 1)
    (consent,) = person.consent_pages
    assert "SDK test client" in consent and REDIRECT_URI in consent  # it names both
    assert storage.client_info is not None and storage.tokens is not None
    client_id = storage.client_info.client_id
    first = storage.tokens
    assert first.refresh_token and first.expires_in == TOKEN_TTL
    assert set(site.proxy.served) == {0, 1}  # the flow's steps landed on both instances

    # The access token expires: the client refreshes it, without the person.
    time.sleep(TOKEN_TTL + 0.5)
    assert "alice" in whoami(site.mcp_url, auth)
    second = storage.tokens
    assert second is not None and second.access_token != first.access_token
    assert second.refresh_token and second.refresh_token != first.refresh_token  # rotated
    assert person.authorizations == 1

    # Both processes restart: everything the flow left behind is in the database.
    site.cluster.stop(0)
    site.cluster.stop(1)
    site.cluster.start(0)
    site.cluster.start(1)
    assert "alice" in whoami(site.mcp_url, auth)
    assert person.authorizations == 1
    current = storage.tokens
    assert current is not None and current.refresh_token

    # The first refresh token, spent, comes back: the whole family is revoked, and the
    # access token the client holds is refused at once by both processes.
    latest = token_request(
        site, grant_type="refresh_token", refresh_token=current.refresh_token, client_id=client_id
    )
    assert latest.status_code == 200, latest.text
    access, newest = latest.json()["access_token"], latest.json()["refresh_token"]
    assert [initialize(port, access).status_code for port in site.cluster.ports] == [200, 200]
    replayed = token_request(
        site, grant_type="refresh_token", refresh_token=first.refresh_token, client_id=client_id
    )
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    for port in site.cluster.ports:
        refused = initialize(port, access)
        assert refused.status_code == 401, port
        assert "The access token has been revoked." in refused.headers["www-authenticate"]
    after = token_request(
        site, grant_type="refresh_token", refresh_token=newest, client_id=client_id
    )
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"
    # Once its last access token has expired the client must send the person through the
    # authorization again (their portal session still open: consent only, no new sign-in).
    time.sleep(TOKEN_TTL + 1)
    assert "alice" in whoami(site.mcp_url, auth)
    assert (person.authorizations, person.sign_ins) == (2, 1)
    assert storage.tokens is not None and storage.tokens.refresh_token != current.refresh_token


def test_a_client_known_by_its_metadata_document(site: Site) -> None:
    """The client names itself by an https URL (no registration); the server fetches the
    document through its guarded outbound client, once, and the consent page shows its name."""
    person, storage = Person("alice"), MemoryStorage()
    auth = sdk_auth(site.mcp_url, person, storage, client_metadata_url=site.document.url)
    assert "alice" in whoami(site.mcp_url, auth)
    assert storage.client_info is not None and storage.client_info.client_id == site.document.url
    (consent,) = person.consent_pages
    assert "SDK client by metadata document" in consent and REDIRECT_URI in consent
    assert site.document.hits == ["/clients/sdk.json"]  # fetched once, then cached
    time.sleep(TOKEN_TTL + 0.5)
    assert "alice" in whoami(site.mcp_url, auth)  # refreshed
    assert person.authorizations == 1


def test_direct_mode_the_tenants_provider_issues_the_tokens(site: Site) -> None:
    """The same client against a direct-mode tenant: its metadata names the tenant's own
    provider, which registers the client and issues a JWT for the tenant's resource."""
    person, storage = Person("alice"), MemoryStorage()
    auth = sdk_auth(site.direct_url, person, storage)
    assert "alice" in whoami(site.direct_url, auth)
    assert person.authorizations == 1 and person.consent_pages == []  # not our consent page
    assert storage.tokens is not None
    claims = jwt.decode(storage.tokens.access_token, options={"verify_signature": False})
    assert claims["iss"] == site.direct_issuer and claims["aud"] == site.direct_url
    # That token is the direct-mode tenant's: the broker-mode tenant refuses it.
    refused = httpx2.post(
        site.mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        headers={"Authorization": f"Bearer {storage.tokens.access_token}"},
        timeout=10,
    )
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_the_conformance_suites_authorization_scenarios(site: Site, tmp_path: Path) -> None:
    """The official suite's ``authorization`` command against the tenant's authorization
    server: its metadata, then an authorization code grant whose sign-in and consent the
    person answers, the suite waiting at its own loopback callback."""
    status, output = run_authorization_suite(site, tmp_path / "results")
    assert status == 0, output
    runs = conformance_results(tmp_path / "results")
    checks = [check for found in runs.values() for check in found]
    passed = {str(c["id"]) for c in checks if c.get("status") == "SUCCESS"}
    failed = [c for c in checks if c.get("status") == "FAILURE"]
    assert len(runs) == 2 and not failed, failed  # both scenarios ran, no check failed
    assert {
        "authorization-server-metadata",
        "authorization-server-metadata-cimd",
        "authorization-code-grant",
    } <= passed
