"""OpenTelemetry spans: the request, its authentication, the tool call, outbound calls.

Off unless configured: ``configure()`` (the server's entry point) builds a tracer only when
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, exporting
by OTLP over HTTP in batches. While off, every helper here returns one shared do-nothing
context manager after a single ``None`` check: no SDK object is made on the request path.

A trace the client started is continued: a 2026-07-28 request's ``_meta`` may carry W3C
``traceparent`` (and ``tracestate``); failing that, the HTTP headers of the same name. The
authentication ran before the message was read, so its span is recorded afterwards, with the
times it really took, as a child of the request's span.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_NOTHING: AbstractContextManager[None] = nullcontext()
_propagator = TraceContextTextMapPropagator()
_tracer: trace.Tracer | None = None
_provider: Any = None


def enabled() -> bool:
    return _tracer is not None


def configure(exporter: Any = None) -> bool:
    """Turn tracing on: with ``exporter`` (a test's in-memory one, spans sent as they end),
    or by OTLP when the environment names an endpoint. Returns whether tracing is on."""
    global _tracer, _provider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is not None:
        processor: Any = SimpleSpanProcessor(exporter)
    elif os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(OTLPSpanExporter())
    else:
        return False
    name = os.environ.get("OTEL_SERVICE_NAME", "mcp-server")
    _provider = TracerProvider(resource=Resource.create({"service.name": name}))
    _provider.add_span_processor(processor)
    _tracer = _provider.get_tracer("mcpserver")
    return True


def disable() -> None:
    """Back to no tracing (tests)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


def _live() -> trace.Tracer:
    if _tracer is None:  # turned off between the check and the span: nothing to record into
        return trace.NoOpTracer()
    return _tracer


def now_ns() -> int:
    return time.time_ns()


def _carrier(source: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k in ("traceparent", "tracestate") if isinstance(v := source.get(k), str)}


def parent_of(meta: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
    """The context to continue: ``_meta``'s traceparent, else the HTTP header's, else none."""
    carrier = _carrier(meta) or _carrier(headers)
    return _propagator.extract(carrier) if carrier else None


def span(name: str, attributes: Mapping[str, Any] | None = None) -> AbstractContextManager[Any]:
    """A span around a block, child of the current one; nothing at all while tracing is off."""
    if _tracer is None:
        return _NOTHING
    return _tracer.start_as_current_span(name, attributes=attributes)


@contextmanager
def _request(
    name: str, parent: Any, start_ns: int | None, attributes: Mapping[str, Any], auth: Any
) -> Iterator[Any]:
    tracer = _live()
    root = tracer.start_span(
        name, context=parent, kind=trace.SpanKind.SERVER, attributes=attributes, start_time=start_ns
    )
    if auth is not None:
        started, ended, path = auth
        child = tracer.start_span(
            "mcp.authenticate",
            context=trace.set_span_in_context(root),
            attributes={"mcp.auth.path": path},
            start_time=started,
        )
        child.end(end_time=ended)
    with trace.use_span(root, end_on_exit=True, record_exception=True) as current:
        yield current


def request_span(
    name: str,
    *,
    meta: Mapping[str, Any],
    headers: Mapping[str, str],
    start_ns: int | None,
    attributes: Mapping[str, Any],
    auth: Any = None,
) -> AbstractContextManager[Any]:
    """The request's span, current for the block; ``auth`` is ``(start_ns, end_ns, path)``."""
    if _tracer is None:
        return _NOTHING
    return _request(name, parent_of(meta, headers), start_ns, attributes, auth)


def record_failed_authentication(
    headers: Mapping[str, str], started: int, error: str, path: str = ""
) -> None:
    """A refused credential: no request span follows, so the authentication stands alone."""
    if _tracer is None:
        return
    failed = _tracer.start_span(
        "mcp.authenticate",
        context=parent_of({}, headers),
        attributes={"mcp.auth.result": error or "missing"},
        start_time=started,
    )
    failed.set_status(trace.Status(trace.StatusCode.ERROR, error or "missing"))
    failed.end()


@contextmanager
def _outbound(method: str, url: str, headers: dict[str, str]) -> Iterator[dict[str, str]]:
    tracer = _live()
    parts = urlsplit(url)
    attributes = {
        "http.request.method": method,
        "server.address": parts.hostname or "",
        "url.path": parts.path,  # never the query: it may carry a secret
    }
    with tracer.start_as_current_span(
        f"{method} {parts.hostname}", kind=trace.SpanKind.CLIENT, attributes=attributes
    ):
        carrier = dict(headers)
        _propagator.inject(carrier)
        yield carrier


def outbound(
    method: str, url: str, headers: dict[str, str]
) -> AbstractContextManager[dict[str, str]]:
    """A client span around an outbound request; yields the headers to send, ``traceparent``
    added so the upstream can continue the trace."""
    if _tracer is None:
        return nullcontext(headers)
    return _outbound(method, url, headers)
