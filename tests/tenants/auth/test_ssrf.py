"""Identity providers' URLs cannot make the server request its own network.

An issuer, and the ``jwks_uri`` its discovery document names, are chosen by whoever runs the
identity provider. Each test has an "internal" listener on loopback standing in for a service
behind the server, and asserts on that listener: nothing reaches it.
"""

import logging
from collections.abc import Iterator

import pytest

from mcpserver.process import process_state
from tenants.models import AuditLog
from tests.tenants.auth.idp import LoopbackIdP
from tests.tenants.auth.paths import challenge

pytestmark = pytest.mark.django_db(transaction=True)

UNKNOWN_KEY = challenge("invalid_token", "The token's signing key is not known.")


@pytest.fixture
def internal() -> Iterator[LoopbackIdP]:
    server = LoopbackIdP(keys=[]).start()
    yield server
    server.stop()


@pytest.fixture
def outside_idp(signing_keys) -> Iterator[LoopbackIdP]:
    """An identity provider on 127.0.0.2, standing in for a host the server may reach."""
    server = LoopbackIdP(keys=list(signing_keys.values()), host="127.0.0.2").start()
    yield server
    server.stop()


def _refusals() -> list[AuditLog]:
    return list(AuditLog.objects.filter(action="identity_provider.fetch_refused"))


def test_issuer_only_provider_on_loopback_is_refused_without_the_allowance(
    shared_store, make_tenant, make_provider, idp, signing_keys, internal, call, caplog
):
    idp.advertised_jwks_uri = f"{internal.issuer}/internal/keys?token=s3cr3t"
    tenant = make_tenant("acme")
    make_provider(tenant, idp, jwks_uri="", allow_private_network=False)
    token = idp.token(signing_keys["RS256"], audience=tenant.resource_identifier, kid="rotated")
    with caplog.at_level(logging.WARNING, logger="tenants.auth.jwks"):
        response = call("/mcp/acme", token=token)
    assert response.status == 401
    assert response.challenge == UNKNOWN_KEY
    assert internal.total_hits == 0
    assert idp.total_hits == 0  # the issuer itself is on loopback: not even discovery
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "refusing http://127.0.0.1" in logged
    assert token not in logged
    [refusal] = _refusals()
    assert refusal.outcome == AuditLog.Outcome.DENIED
    assert refusal.tenant == tenant
    assert token not in str(refusal.details)


def test_discovered_jwks_uri_is_judged_on_its_own(
    shared_store, make_tenant, make_provider, outside_idp, signing_keys, internal, call, settings,
    caplog,
):  # fmt: skip
    # The issuer's host may be reached; the jwks_uri its metadata names (loopback) may not.
    settings.MCP_SERVER = {**settings.MCP_SERVER, "OUTBOUND_ALLOWED_NETWORKS": ["127.0.0.2/32"]}
    outside_idp.advertised_jwks_uri = f"{internal.issuer}/internal/keys"
    tenant = make_tenant("acme")
    make_provider(tenant, outside_idp, jwks_uri="", allow_private_network=False)
    token = outside_idp.token(signing_keys["ES256"], audience=tenant.resource_identifier)
    with caplog.at_level(logging.WARNING, logger="tenants.auth.jwks"):
        response = call("/mcp/acme", token=token)
    assert response.status == 401
    assert response.challenge == UNKNOWN_KEY
    assert outside_idp.hits["/.well-known/oauth-authorization-server"] == 1
    assert internal.total_hits == 0
    assert f"refusing {internal.issuer}/internal/keys" in caplog.text
    assert len(_refusals()) == 1
    # The same provider pointing at its own keys works.
    outside_idp.advertised_jwks_uri = None
    process_state.reset("jwks.")  # the failure's cooldown is per process: start afresh
    assert call("/mcp/acme", token=token).status == 200


def test_with_the_allowance_a_loopback_provider_works(
    shared_store, make_tenant, make_provider, idp, signing_keys, call
):
    tenant = make_tenant("acme")
    make_provider(tenant, idp, jwks_uri="", allow_private_network=True)
    token = idp.token(signing_keys["RS256"], audience=tenant.resource_identifier)
    assert call("/mcp/acme", token=token).status == 200
    assert idp.jwks_hits == 1
    assert _refusals() == []


def test_a_name_that_resolves_to_loopback_is_refused(
    shared_store, make_tenant, make_provider, idp, signing_keys, call
):
    port = idp.server.server_address[1]
    idp.host = "localhost"  # the issuer becomes http://localhost:PORT, the same listener
    tenant = make_tenant("acme")
    jwks_uri = f"http://localhost:{port}/jwks"
    make_provider(tenant, idp, jwks_uri=jwks_uri, allow_private_network=False)
    token = idp.token(signing_keys["RS256"], audience=tenant.resource_identifier)
    assert call("/mcp/acme", token=token).status == 401
    assert idp.total_hits == 0


def test_a_redirect_from_the_jwks_uri_is_not_followed(
    shared_store, make_tenant, make_provider, outside_idp, signing_keys, internal, call, settings
):
    settings.MCP_SERVER = {**settings.MCP_SERVER, "OUTBOUND_ALLOWED_NETWORKS": ["127.0.0.2/32"]}
    outside_idp.redirect_to = f"{internal.issuer}/internal/keys"
    tenant = make_tenant("acme")
    make_provider(
        tenant, outside_idp, jwks_uri=f"{outside_idp.issuer}/redirect", allow_private_network=False
    )
    token = outside_idp.token(signing_keys["RS256"], audience=tenant.resource_identifier)
    assert call("/mcp/acme", token=token).status == 401
    assert outside_idp.hits["/redirect"] == 1
    assert internal.total_hits == 0
