"""Django's last-resort answer: JSON for JSON clients, 503 for a database outage."""

import json

import pytest
from django.db import OperationalError

from mcpserver.handlers import server_error


def answer(rf, exc: Exception, accept: str):
    request = rf.get("/api/v1/tenants/", HTTP_ACCEPT=accept)
    try:
        raise exc
    except type(exc):  # Django calls handler500 while the exception is being handled
        return server_error(request)


@pytest.mark.parametrize("accept", ["application/json", "*/*", ""])
def test_an_outage_is_a_json_503_with_retry_after(rf, accept):
    response = answer(rf, OperationalError("connection refused"), accept)
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert json.loads(response.content)["error"] == "temporarily_unavailable"
    assert b"connection refused" not in response.content


def test_another_fault_is_a_json_500_without_details(rf):
    response = answer(rf, RuntimeError("secret detail"), "application/json")
    assert response.status_code == 500
    assert json.loads(response.content) == {
        "error": "server_error",
        "error_description": "Internal error.",
    }


def test_a_browser_gets_a_short_page(rf):
    response = answer(rf, OperationalError("down"), "text/html,application/xhtml+xml")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"down" not in response.content
