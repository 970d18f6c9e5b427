"""``/metrics``: the Prometheus text format, for the callers the guard lets through.

Loopback callers get it by default; others only from a network in ``MCP_METRICS_ALLOW`` or
with ``Authorization: Bearer <MCP_METRICS_TOKEN>``. The address is the trusted client address
(``TRUSTED_PROXY_COUNT``): a loopback peer that forwards for someone else (an
``X-Forwarded-For`` no trusted proxy accounts for) is not a loopback caller, so a reverse
proxy on the same host does not open the series to the Internet.

With several worker processes (``PROMETHEUS_MULTIPROC_DIR``) the answer adds up what every
process wrote; the files of processes that have died are kept for counters (a counter never
goes back) and dropped for gauges of live values.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
from functools import lru_cache

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from mcpserver.conf import mcp_settings
from mcpserver.observability import bridge
from mcpserver.observability.series import MULTIPROCESS
from mcpserver.process import process_state
from mcpserver.refusals import MetricsForbidden

_LIVE_FILE = re.compile(r"^gauge_live\w*?_(\d+)\.db$")


@lru_cache(maxsize=1)
def _networks(
    allowed: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(net, strict=False) for net in allowed)


process_state.on_reset("metrics.allowed_networks", _networks.cache_clear)


def _address(request: HttpRequest) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    raw = getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR")
    try:
        return ipaddress.ip_address(str(raw))
    except ValueError:
        return None


def _forwarded_untrusted(request: HttpRequest) -> bool:
    proxied = "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META
    return proxied and not mcp_settings.TRUSTED_PROXY_COUNT


def _token_ok(request: HttpRequest) -> bool:
    token = mcp_settings.METRICS_TOKEN
    if not token:
        return False
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), str(token).encode()
    )


def allowed(request: HttpRequest) -> bool:
    """Whether this caller may read the series."""
    if _token_ok(request):
        return True
    address = _address(request)
    if address is None:
        return False
    if address.is_loopback and not _forwarded_untrusted(request):
        return True
    return any(address in net for net in _networks(tuple(mcp_settings.METRICS_ALLOW)))


def _forget_dead_processes(directory: str) -> None:
    for name in os.listdir(directory):
        found = _LIVE_FILE.match(name)
        if found is None:
            continue
        pid = int(found.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)
        except PermissionError:
            pass  # alive, someone else's


def render() -> bytes:
    """The exposition text: this process's counters first copied, then every process's."""
    bridge.flush()
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    _forget_dead_processes(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        refusal = MetricsForbidden()
        return JsonResponse(refusal.body(), status=refusal.http_status)
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
