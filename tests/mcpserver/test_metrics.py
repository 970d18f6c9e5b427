"""/metrics in one process: the guard, the series an operator reads after real requests, and
labels that stay bounded whatever a client sends."""

from __future__ import annotations

import re
import secrets

import pytest
from django.test import Client, override_settings

from tests.mcpserver.conftest import Endpoint, request

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "metrics-token-for-tests-0123456789"


def scrape(**headers: str) -> tuple[int, str]:
    response = Client().get("/metrics", **headers)  # type: ignore[arg-type]
    return response.status_code, response.content.decode()


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels...}`` (labels matched as a subset), 0 when absent."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, number = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', head))
        if head.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            total += float(number)
    return total


def test_loopback_callers_get_the_text_format() -> None:
    status, text = scrape(REMOTE_ADDR="127.0.0.1")
    assert status == 200
    assert "# TYPE mcp_requests_total counter" in text
    assert "# TYPE mcp_request_duration_seconds histogram" in text


def test_other_callers_are_refused_without_the_token_or_an_allowed_network() -> None:
    status, text = scrape(REMOTE_ADDR="203.0.113.9")
    assert status == 403 and "mcp_" not in text
    # A loopback peer forwarding for someone else (a proxy on the same host) is no loopback
    # caller while no proxy is trusted.
    status, _ = scrape(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert status == 403


def test_the_token_or_an_allowed_network_opens_it() -> None:
    server = {"METRICS_TOKEN": TOKEN, "METRICS_ALLOW": ["10.1.0.0/16"]}
    with override_settings(MCP_SERVER=server):
        assert scrape(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")[0] == 200
        assert scrape(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong")[0] == 403
        assert scrape(REMOTE_ADDR="10.1.200.3")[0] == 200
        assert scrape(REMOTE_ADDR="10.2.0.1")[0] == 403


def test_requests_authentications_and_refusals_are_counted(endpoint: Endpoint) -> None:
    _, before = scrape(REMOTE_ADDR="127.0.0.1")
    assert endpoint.modern("tools/call", {"name": "whoami"}).status == 200
    assert endpoint.modern("tools/call", {"name": "test_error_handling"}).status == 200
    assert endpoint.modern("tools/call", {"name": "no-such-tool-x1"}).status == 400
    headers = endpoint.base_headers(authorization=f"Bearer mcpk_{secrets.token_urlsafe(32)}")
    assert request("POST", endpoint.path, b"{}", headers).status == 401
    _, after = scrape(REMOTE_ADDR="127.0.0.1")

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    tool = {"tenant": "acme", "era": "stateless", "method": "tools/call"}
    assert moved("mcp_requests_total", **tool, tool="whoami", outcome="ok") == 1
    assert (
        moved("mcp_requests_total", **tool, tool="test_error_handling", outcome="tool_error") == 1
    )
    # An unknown tool is an error, and its name never becomes a label.
    assert moved("mcp_requests_total", **tool, tool="-", outcome="error") == 1
    assert "no-such-tool-x1" not in after
    timed = {"era": "stateless", "method": "tools/call", "tool": "whoami", "outcome": "ok"}
    assert moved("mcp_request_duration_seconds_count", **timed) == 1
    assert moved("mcp_authentications_total", tenant="acme", result="ok") == 3
    failed = moved(
        "mcp_authentications_total", tenant="acme", path="api_key", result="invalid_token"
    )
    assert failed == 1
    paths = set(re.findall(r'mcp_authentications_total\{path="(\w+)"', after))
    assert paths <= {"none", "process", "shared", "api_key", "jwt"}


def test_background_job_results_and_stale_keys_are_counted() -> None:
    from mcpserver.observability import bridge
    from tenants import alerts

    alerts.record_task_result(task="tenants.refresh_jwks", outcome="failure")
    alerts.record_task_result(task="tenants.refresh_jwks", outcome="success")
    alerts.record_jwks_stale(
        provider_id=7, tenant_slug="acme", issuer="https://idp.test", age_seconds=None, error=""
    )
    bridge.flush()
    status, text = scrape()
    assert status == 200
    assert 'mcp_celery_tasks_total{state="failure",task="tenants.refresh_jwks"}' in text
    assert 'mcp_jwks_stale_alerts_total{tenant="acme"}' in text
