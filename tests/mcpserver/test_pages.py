"""What a person and a probing client find outside the MCP protocol: the landing page, the
endpoint's explanation in a browser, branded errors, and JSON wherever OAuth clients look."""

import json

import pytest
from django.test import Client

from tests.mcpserver.conftest import Endpoint, request

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

# The ASGI application answers from other threads: rows must be committed to be seen.
pytestmark = pytest.mark.django_db(transaction=True)


def test_landing_page_says_what_the_server_is_and_how_healthy(client: Client) -> None:
    response = client.get("/", HTTP_ACCEPT=BROWSER)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Model Context Protocol server" in page
    assert 'href="/admin/"' in page
    assert 'Database: <span class="ok">reachable</span>' in page


def test_a_browser_opening_an_endpoint_is_told_how_to_connect(endpoint: Endpoint) -> None:
    response = request("GET", endpoint.path, headers={"host": "localhost", "accept": BROWSER})
    page = response.body.decode()
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "http://testserver/mcp/acme" in page  # the endpoint to paste
    assert "claude mcp add --transport http acme http://testserver/mcp/acme" in page
    assert "Authorization: Bearer YOUR_API_KEY" in page  # an API-key-only tenant


def test_mcp_clients_opening_the_same_url_still_get_the_protocol(endpoint: Endpoint) -> None:
    stream = request(
        "GET", endpoint.path, headers={"host": "localhost", "accept": "text/event-stream"}
    )
    assert stream.status == 401 and "resource_metadata=" in stream.headers["www-authenticate"]
    with_key = request(
        "GET",
        endpoint.path,
        headers={"host": "localhost", "accept": BROWSER, "authorization": f"Bearer {endpoint.key}"},
    )
    assert with_key.headers["content-type"].startswith("application/json")


def test_a_browser_at_an_unknown_endpoint_gets_the_branded_404(db: None) -> None:
    response = request("GET", "/mcp/nobody", headers={"host": "localhost", "accept": BROWSER})
    assert response.status == 404
    assert "Not found" in response.body.decode()


def test_unknown_pages_are_branded_for_browsers_and_json_for_clients(client: Client) -> None:
    page = client.get("/no/such/page", HTTP_ACCEPT=BROWSER)
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.content.decode()
    data = client.get("/no/such/page", HTTP_ACCEPT="application/json")
    assert data.status_code == 404 and data.json()["error"] == "not_found"


PROBES = [
    "/.well-known/oauth-authorization-server",
    "/.well-known/oauth-authorization-server/mcp/acme",
    "/.well-known/openid-configuration",
    "/.well-known/openid-configuration/mcp/acme",
    "/mcp/acme/.well-known/openid-configuration",
    "/mcp/acme/.well-known/oauth-authorization-server",
    "/.well-known/oauth-protected-resource",
    "/register",
    "/authorize",
    "/token",
]


@pytest.mark.parametrize("path", PROBES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_path_an_oauth_client_probes_answers_json(
    endpoint: Endpoint, client: Client, path: str, method: str
) -> None:
    send = client.get if method == "GET" else client.post
    response = send(path, HTTP_ACCEPT="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["error"] == "not_found"
    if "/mcp/acme" in path:
        assert "'acme'" in body["error_description"]
        assert "API keys only" in body["error_description"]


def test_a_probe_names_the_identity_provider_of_a_tenant_that_has_one(
    endpoint: Endpoint, client: Client, actor
) -> None:
    from tenants import services
    from tenants.models import Tenant

    services.identity_provider_create(
        tenant=Tenant.objects.get(slug="acme"),
        issuer="https://login.acme.test",
        jwks_uri="https://login.acme.test/jwks",
        actor=actor,
    )
    body = client.get("/.well-known/openid-configuration/mcp/acme").json()
    assert "https://login.acme.test" in body["error_description"]
    assert "/.well-known/oauth-protected-resource/mcp/acme" in body["error_description"]
