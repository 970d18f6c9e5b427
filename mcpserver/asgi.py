"""ASGI entry point: ``daphne -b 127.0.0.1 -p 8000 mcpserver.asgi:application``.

The project's system checks run here, before the first connection: a production server with
no secret key or encryption key refuses to start instead of failing its first request. Daphne
gets its guards here too (``mcpserver.daphne_guard``: bodies capped as they arrive, slow and
idle connections closed, credentials kept out of its access log), so the plain documented
command is safe; under uvicorn they are inert.
"""

import asyncio
import gc
import os
import re

from django.core.asgi import get_asgi_application
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mcpserver.settings")

django_application = get_asgi_application()

from django.core import checks  # noqa: E402  (after django.setup())
from django.core.management.base import SystemCheckError  # noqa: E402

_errors = [m for m in checks.run_checks(tags=["mcpserver"]) if m.is_serious()]
if _errors:
    raise SystemCheckError(
        "The server refuses to start:\n" + "\n".join(str(message) for message in _errors)
    )

import threading  # noqa: E402

from sessions_store.census import start_reporting  # noqa: E402


def _outside_any_event_loop(run: object) -> None:
    """``uvicorn --workers N`` imports this module inside its event loop, where the ORM
    refuses synchronous calls: the start-up work then runs in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        run()  # type: ignore[operator]
        return

    def in_thread() -> None:
        run()  # type: ignore[operator]
        connections.close_all()  # this thread's connections only

    worker = threading.Thread(target=in_thread, name="startup")
    worker.start()
    worker.join()


# One log line naming the encrypting and decrypt-only keys (by id), and a report that lets
# rotate_encryption_key see every running instance's key ring.
_outside_any_event_loop(start_reporting)

from mcpserver.observability import bridge, tracing  # noqa: E402

# Each process copies its own counters into the exported series (see "Metrics" in README),
# and exports spans only when an OTLP endpoint is configured.
bridge.start()
tracing.configure()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from mcpserver import daphne_guard  # noqa: E402

daphne_guard.install()

from mcpserver.pages import is_browser_visit  # noqa: E402
from mcpserver.protocol.consumer import McpConsumer  # noqa: E402
from mcpserver.protocol.guard import mcp_stack  # noqa: E402

_mcp = mcp_stack(McpConsumer.as_asgi())
# The one route outside Django's URLconf (the MCP endpoint; Django serves every other path).
# Matched here rather than through a URLRouter of Django patterns: it is every MCP request's
# first step, and one compiled expression is all it needs.
_MCP_PATH = re.compile(r"/mcp/(?P<slug>[a-z0-9-]+)")


async def http_router(scope, receive, send):  # type: ignore[no-untyped-def]
    """``/mcp/<slug>`` to the MCP stack, except for a person opening the URL (Django explains
    the endpoint); everything else to Django. ``root_path`` is honoured as Channels does."""
    path, root = scope["path"], scope.get("root_path", "")
    match = _MCP_PATH.fullmatch(path, len(root)) if path.startswith(root) else None
    if match is None:
        await django_application(scope, receive, send)
        return
    # The MCP stack's own scope: the headers its layers read are decoded once, into it.
    scope = dict(scope, url_route={"args": (), "kwargs": {"slug": match["slug"]}})
    if is_browser_visit(scope):
        await django_application(scope, receive, send)
    else:
        await _mcp(scope, receive, send)


application = ProtocolTypeRouter({"http": http_router})

# Everything imported so far lives as long as the process: move it out of the collector's
# reach, so a full collection scans only what requests allocate (a full pass over Django's
# startup objects stalls every in-flight request for milliseconds: it showed in p99).
gc.collect()
gc.freeze()
# With the default thresholds (700, 10, 10), a server under load ran a collection every 150
# requests, a middle one every 1,700 and a full one every 17,000 (each full one scanning every
# object not frozen): 5 to 7% of a call's CPU in A/B runs (benchmarks/ab.py). At 20,000 each
# runs about thirty times less often; cyclic garbage waits longer to be freed.
gc.set_threshold(20_000, 10, 10)
