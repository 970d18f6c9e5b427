"""The MCP route behind the real authentication middleware, with an inner app that answers
200 and echoes the principal. The tests drive it in process; a second process serves it with
uvicorn (``uvicorn tests.tenants.auth.echo:application``)."""

import json
import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from channels.routing import URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from mcpserver.protocol.guard import mcp_stack  # noqa: E402


async def echo_principal(scope: dict[str, Any], receive: Any, send: Any) -> None:
    principal = scope["principal"]
    body = json.dumps(
        {
            "tenant": scope["tenant"].slug,
            "tenant_id": principal.tenant_id,
            "subject": principal.subject,
            "method": str(principal.auth_method),
            "scopes": sorted(principal.scopes),
            "email": principal.email,
            "credential_id": principal.credential_id,
        }
    ).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


application = URLRouter(
    [re_path(r"^mcp/(?P<slug>[a-z0-9-]+)$", mcp_stack(echo_principal))]  # type: ignore[arg-type]
)
