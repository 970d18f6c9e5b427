"""Logs at DEBUG, as production writes them (JSON lines): a full request, an auth failure, a
JWKS fetch from a loopback identity provider and a task run, with SQL logged, hold none of the
raw secrets involved, and every line of a request names its request id, tenant and principal."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from mcpserver.logging import RedactingJsonFormatter, RequestContextFilter, mark_secret
from tenants.tasks import refresh_jwks
from tests.mcpserver.conftest import Endpoint, request
from tests.tenants.auth.conftest import idp, make_provider, signing_keys  # noqa: F401
from tests.tenants.auth.idp import LoopbackIdP, SigningKey, new_key

pytestmark = pytest.mark.django_db(transaction=True)

TENANT_SECRET = "tenant-upstream-secret-7f3a9c"
COOKIE = "sessionid=cookie-value-5d1e8b2a"
LOGGERS = ("", "django", "django.db.backends", "tenants", "mcpserver", "sessions_store", "celery")


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every logger at DEBUG into one buffer, through the production JSON formatter."""
    import mcpserver.asgi  # noqa: F401 (its django.setup() configures logging: do it first)

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(RedactingJsonFormatter(**_json_options()))
    handler.addFilter(RequestContextFilter())
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    logging.getLogger("django").addHandler(handler)
    with override_settings(DEBUG=True):  # every thread's SQL statements are logged
        yield buffer
    logging.getLogger().removeHandler(handler)
    logging.getLogger("django").removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _json_options() -> dict[str, Any]:
    logging_config: Any = settings.LOGGING
    options = dict(logging_config["formatters"]["json"])
    options.pop("()")
    return options


def test_no_raw_secret_reaches_a_log_line(
    endpoint: Endpoint,
    idp: LoopbackIdP,  # noqa: F811
    make_provider: Callable[..., Any],  # noqa: F811
    signing_keys: dict[str, SigningKey],  # noqa: F811
    debug_log: io.StringIO,
) -> None:
    from tenants.models import Tenant

    tenant = Tenant.objects.get(slug=endpoint.slug)
    provider = make_provider(tenant, idp)
    audience = f"{settings.MCP_SERVER['PUBLIC_URL']}/mcp/{endpoint.slug}"
    good_jwt = idp.token(signing_keys["RS256"], audience=audience)
    forged_jwt = idp.token(new_key("RS256", "rsa-1"), audience=audience)

    # A full request with an API key and a cookie; one with a JWT (its keys fetched from the
    # identity provider on loopback); an auth failure with a forged JWT.
    cookie = {"cookie": COOKIE}
    assert endpoint.modern("tools/call", {"name": "whoami"}, headers=cookie).status == 200
    jwt_headers = {"authorization": f"Bearer {good_jwt}"}
    assert endpoint.modern("tools/list", headers=jwt_headers).status == 200
    assert idp.jwks_hits >= 1
    forged = endpoint.base_headers(authorization=f"Bearer {forged_jwt}")
    assert request("POST", endpoint.path, b"{}", forged).status == 401
    # A task run, and a tenant secret once decrypted, then named in a failure by mistake.
    assert refresh_jwks.apply(args=[provider.pk]).get() == 1
    mark_secret(TENANT_SECRET)
    try:
        raise RuntimeError(f"upstream refused {TENANT_SECRET} with Authorization: Basic dXNlcg==")
    except RuntimeError:
        logging.getLogger("tenants").exception("upstream call failed: %s", endpoint.key)

    text = debug_log.getvalue()
    for secret in (endpoint.key, good_jwt, forged_jwt, TENANT_SECRET, "cookie-value-5d1e8b2a"):
        assert secret not in text
    assert "dXNlcg==" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    sql = [line for line in lines if line["logger"] == "django.db.backends"]
    assert sql, "SQL statements are logged at DEBUG"
    assert all(line.get("params") == "[redacted]" for line in sql if "params" in line)
    # The request's own lines (its SQL in the database thread included) name who asked.
    mine = [line for line in lines if line["tenant"] == endpoint.slug]
    assert mine and all(line["request_id"] != "-" for line in mine)
    assert any(line["principal"].startswith("ak_") for line in mine)
    assert any("upstream call failed" in line["message"] for line in lines)
