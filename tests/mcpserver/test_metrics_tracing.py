"""Spans, with an in-memory exporter: the request, its authentication and the tool call in
one trace, a client's ``traceparent`` in ``_meta`` continued, and nothing made while off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcpserver.observability import tracing
from tests.mcpserver.conftest import Endpoint, request

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure(exporter)
    yield exporter
    tracing.disable()


def test_a_traceparent_in_meta_is_continued(
    endpoint: Endpoint, spans: InMemorySpanExporter
) -> None:
    meta = {"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"}
    response = endpoint.modern("tools/call", {"name": "whoami", "_meta": meta})
    assert response.status == 200
    by_name: dict[str, Any] = {span.name: span for span in spans.get_finished_spans()}
    root, auth, tool = (
        by_name["mcp tools/call"],
        by_name["mcp.authenticate"],
        by_name["mcp.tool_call"],
    )
    assert {format(s.context.trace_id, "032x") for s in (root, auth, tool)} == {CLIENT_TRACE}
    assert format(root.parent.span_id, "016x") == CLIENT_SPAN
    assert auth.parent.span_id == root.context.span_id == tool.parent.span_id
    assert tool.attributes["mcp.tool.name"] == "whoami"
    assert root.attributes["mcp.tenant"] == "acme"
    assert auth.start_time <= auth.end_time <= tool.start_time


def test_without_a_traceparent_a_trace_starts_here(
    endpoint: Endpoint, spans: InMemorySpanExporter
) -> None:
    assert endpoint.modern("tools/list").status == 200
    (root,) = [s for s in spans.get_finished_spans() if s.name == "mcp tools/list"]
    assert root.parent is None


def test_a_refused_credential_leaves_a_failed_authentication_span(
    endpoint: Endpoint, spans: InMemorySpanExporter
) -> None:
    headers = endpoint.base_headers(authorization="Bearer nonsense")
    headers["traceparent"] = f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"
    assert request("POST", endpoint.path, b"{}", headers).status == 401
    (failed,) = spans.get_finished_spans()
    assert failed.name == "mcp.authenticate" and not failed.status.is_ok
    assert format(failed.context.trace_id, "032x") == CLIENT_TRACE


def test_off_by_default_no_span_is_made(endpoint: Endpoint) -> None:
    assert not tracing.enabled()
    assert tracing.span("x") is tracing.span("y")  # one shared do-nothing context
    assert endpoint.modern("tools/call", {"name": "whoami"}).status == 200
