"""No raw credential in any log line at any level, through the project's real logging setup
(its handler and formatters, as LOG_LEVEL=DEBUG configures them), not pytest's capture."""

import copy
import io
import logging
import logging.config
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from mcpserver.logging import redact

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["json", "console"])
def debug_log(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """The configured LOGGING at DEBUG (what LOG_LEVEL=DEBUG gives), written to a buffer."""
    config: dict[str, Any] = copy.deepcopy(settings.LOGGING)
    config["handlers"]["default"]["formatter"] = request.param
    config["root"]["level"] = "DEBUG"
    config["loggers"]["django"]["level"] = "DEBUG"
    logging.config.dictConfig(config)
    buffer = io.StringIO()
    handler = logging.getLogger("django").handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        logging.config.dictConfig(settings.LOGGING)


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests")
    client.force_login(user)
    return client


def test_creating_an_api_key_in_admin_at_debug_logs_no_key(admin_client, tenant, debug_log):
    logging.getLogger("django.template").debug("the handler is live")  # below INFO: dropped
    logging.getLogger("django").debug("the handler is live")
    response = admin_client.post(
        reverse("admin:tenants_apikey_add"),
        {"tenant": tenant.pk, "name": "laptop", "scopes": "tools:read"},
        follow=True,
    )
    assert response.status_code == 200
    match = re.search(rb'id="raw-api-key">([^<]+)<', response.content)
    assert match, response.content
    raw = match.group(1).decode()
    written = debug_log.getvalue()
    assert "the handler is live" in written  # DEBUG lines do reach this handler
    assert raw not in written and raw[5:] not in written


def test_a_credential_that_reaches_a_log_call_is_redacted(debug_log):
    key = "mcpk_" + "Zq3" * 14
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXBhcnQ"
    log = logging.getLogger("tenants.auth")
    log.warning("headers %s", {"authorization": f"Bearer {key}"})
    log.warning("query /mcp/acme?access_token=%s&x=1", jwt)
    try:
        raise ValueError(f"bad credential {key}")
    except ValueError:
        log.exception("failed with Authorization: bearer %s", jwt)
    written = debug_log.getvalue()
    assert key not in written and key[5:] not in written
    assert jwt not in written and "c2lnbmF0dXJlLXBhcnQ" not in written
    assert written.count("[redacted]") >= 4


def test_redaction_leaves_ordinary_text_alone():
    text = "tenant acme: tools/call whoami took 3 ms (request 0af3)"
    assert redact(text) == text
    assert redact("Bearer abc.def") == "Bearer [redacted]"
