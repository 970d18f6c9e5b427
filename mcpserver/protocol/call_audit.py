"""The audit record of a ``tools/call``: what the protocol knows about it, handed to tenants.

``audited`` runs the call and submits its record before the answer leaves: the tool's
result (``ok``, ``isError``, input required), a JSON-RPC error, or a refusal before the tool
ran (insufficient scope, rate limited). A call cancelled by its client (a cancellation, or
the client leaving) gets no answer; its record, ``cancelled``, is handed over without waiting.
A tenant's own tool adds the upstream it called, the upstream's latency and error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mcpserver.context import request_id_var
from mcpserver.eras import META_CLIENT_INFO, META_VERSION
from mcpserver.errors import McpError
from mcpserver.observability import tracing
from mcpserver.protocol.call import Call
from tenants.toolaudit import (
    Result,
    ToolCallRecord,
    UpstreamCall,
    submit,
    submit_nowait,
    upstream_call,
)

_REFUSALS = frozenset({403, 429})


def _of_result(result: dict[str, Any]) -> str:
    if result.get("resultType") == "input_required":
        return Result.INPUT_REQUIRED
    return Result.IS_ERROR if result.get("isError") is True else Result.OK


logger = logging.getLogger("mcpserver.protocol")


def _of_error(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, McpError):
        refused = exc.http_status in _REFUSALS
        return (Result.REFUSED if refused else Result.PROTOCOL_ERROR), exc.jsonrpc_code
    return Result.PROTOCOL_ERROR, -32603


def _upstream_fields(noted: UpstreamCall | None) -> dict[str, Any]:
    if noted is None:
        return {}
    return {
        "upstream": noted.name[:100],
        "upstream_ms": noted.latency_ms,
        "upstream_error": noted.error[:300],
    }


def _record(
    call: Call, started: float, result: str, code: int | None, noted: UpstreamCall | None
) -> ToolCallRecord:
    if call.stateless:
        client, version = call.meta.get(META_CLIENT_INFO), call.meta.get(META_VERSION)
    else:
        session = call.session or {}
        client, version = session.get("client"), session.get("version")
    return ToolCallRecord.build(
        principal=call.principal,
        tool=call.params.get("name"),
        arguments=call.params.get("arguments"),
        client_info=client,
        protocol_version=version,
        result=result,
        code=code,
        duration_ms=(time.monotonic() - started) * 1000,
        request_id=request_id_var.get("-"),
        client_ip=call.client_ip,
        **_upstream_fields(noted),
    )


async def _submit(
    call: Call, started: float, result: str, code: int | None, noted: UpstreamCall | None
) -> None:
    try:
        await submit(_record(call, started, result, code, noted))
    except Exception:
        # submit() already falls back to an in-process queue when Redis fails; getting here is
        # a fault of ours, logged, never a failed tool call.
        logger.exception("tool call audit record not submitted")


def _submit_cancelled(call: Call, started: float, noted: UpstreamCall | None) -> None:
    try:
        submit_nowait(_record(call, started, Result.CANCELLED, None, noted))
    except Exception:
        logger.exception("tool call audit record not submitted")


async def audited(call: Call, run: Callable[[Call], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    started = time.monotonic()
    # A tool calling an upstream notes it here (tools.upstream); cleared for every call.
    token = upstream_call.set(None)
    try:
        try:
            with tracing.span("mcp.tool_call", {"mcp.tool.name": str(call.params.get("name"))}):
                answer = await run(call)
        except asyncio.CancelledError:
            # Whatever the tool did before its client stopped it is on the record; no waiting.
            _submit_cancelled(call, started, upstream_call.get())
            raise
        except Exception as exc:
            await _submit(call, started, *_of_error(exc), upstream_call.get())
            raise
        await _submit(call, started, _of_result(answer), None, upstream_call.get())
        return answer
    finally:
        upstream_call.reset(token)
