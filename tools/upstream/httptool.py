"""A tenant's HTTP tool: its specification (``tenants.upstreams.httpspec``) made a ``Tool``.

The request is built from the arguments (path values percent-encoded, so an argument can
never change the host), its headers from the templates with the tenant's secrets, and sent
through the guarded outbound client (``tenants.outbound.arequest``: address checks, pinning,
redirects re-checked hop by hop up to ``max_redirects``, size cap) within the tool's timeout.
The answer becomes the result; any failure an ``isError`` result naming what went wrong and
never the URL, a header or a secret. Secret values an API echoes back are scrubbed out.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

import httpx2
from jsonschema import Draft202012Validator

from mcpserver.conf import mcp_settings
from tenants import outbound
from tenants.secrets import Expanded, SecretMissing, aexpand_headers
from tenants.toolaudit import UpstreamCall, upstream_call
from tenants.upstreams.config import HttpToolConfig
from tenants.upstreams.spec import ARG_REF_RE
from tools.context import ToolContext
from tools.errors import ToolError
from tools.registry import Tool


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _fill(template: str, args: Mapping[str, Any]) -> str | None:
    """``template`` with ``{arg}`` filled as text; None if an argument it needs is absent."""
    names = ARG_REF_RE.findall(template)
    if any(name not in args for name in names):
        return None
    return ARG_REF_RE.sub(lambda m: _text(args[m.group(1)]), template)


def _mapped(mapping: Mapping[str, Any], args: Mapping[str, Any], *, typed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if not isinstance(value, str):
            out[key] = value  # a constant
            continue
        whole = ARG_REF_RE.fullmatch(value)
        if whole and typed:
            if whole.group(1) in args:
                out[key] = args[whole.group(1)]
            continue
        filled = _fill(value, args)
        if filled is not None:
            out[key] = filled
    return out


def build_request(spec: Mapping[str, Any], args: Mapping[str, Any]) -> tuple[str, bytes | None]:
    """The URL (path and query filled in) and the body for these arguments."""
    url = ARG_REF_RE.sub(lambda m: quote(_text(args[m.group(1)]), safe=""), spec["url"])
    query = _mapped(spec["query"], args, typed=False)
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    body = spec["body"]
    if body is None:
        return url, None
    payload = dict(args) if body == "arguments" else _mapped(body, args, typed=True)
    return url, json.dumps(payload).encode()


def _pointer(value: Any, pointer: str) -> Any:
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise ToolError(f"The API's answer has nothing at {pointer}.")
    return value


def to_result(
    spec: Mapping[str, Any],
    response: outbound.OutboundResponse,
    output: Draft202012Validator | None,
) -> dict[str, Any]:
    if not 200 <= response.status < 300:
        raise ToolError(f"The API answered HTTP {response.status}.")
    try:
        text = response.body.decode()
    except UnicodeDecodeError:
        raise ToolError("The API's answer is not text.") from None
    try:
        value = json.loads(text) if text.strip() else None
    except ValueError:
        if "json" in response.headers.get("content-type", ""):
            raise ToolError("The API's answer is not valid JSON.") from None
        return {"content": [{"type": "text", "text": text}]}
    value = _pointer(value, spec["response"].get("pointer", ""))
    result: dict[str, Any] = {
        "content": [{"type": "text", "text": json.dumps(value, ensure_ascii=False)}]
    }
    if isinstance(value, dict) and spec["response"].get("structured", True):
        if output is not None and not output.is_valid(value):
            raise ToolError("The API's answer does not match the tool's output schema.")
        result["structuredContent"] = value
    return result


async def _send(spec: Mapping[str, Any], url: str, body: bytes | None, headers: Expanded) -> Any:
    policy = outbound.OutboundPolicy(
        allow_private=spec["allow_private_network"],
        timeout=float(spec["timeout"]),
        max_bytes=int(mcp_settings.UPSTREAM_MAX_RESPONSE_BYTES),
        max_redirects=int(spec["max_redirects"]),
    )
    sent = {"Accept": "application/json", **headers.headers}
    if body is not None:
        sent["Content-Type"] = "application/json"
    async with asyncio.timeout(float(spec["timeout"])):
        return await outbound.arequest(
            spec["method"], url, policy=policy, headers=sent, content=body
        )


async def call(
    spec: Mapping[str, Any],
    output: Draft202012Validator | None,
    ctx: ToolContext,
    args: Mapping[str, Any],
) -> dict[str, Any]:
    noted = UpstreamCall(name=f"http:{spec['name']}")
    upstream_call.set(noted)
    started = time.monotonic()
    headers: Expanded | None = None
    try:
        headers = await aexpand_headers(spec["headers"], tenant_id=ctx.principal.tenant_id)
        url, body = build_request(spec, args)
        response = await _send(spec, url, body, headers)
        result = to_result(spec, response, output)
    except SecretMissing:
        noted.error = "a secret is missing"
        raise ToolError("The API tool is missing a credential (ask the operator).") from None
    except outbound.OutboundRefused as refused:
        noted.error = f"refused: {refused.reason}"
        raise ToolError(f"The API was not called: {refused.reason}.") from None
    except TimeoutError:
        noted.error = "timeout"
        raise ToolError(f"The API did not answer within {spec['timeout']:g} s.") from None
    except outbound.OutboundError as failed:
        noted.error = str(failed)[:300]
        raise ToolError(_failed_words(failed, spec)) from None
    except ToolError as failed:
        noted.error = failed.message
        raise
    finally:
        noted.latency_ms = (time.monotonic() - started) * 1000
    if headers is not None and headers.secrets:
        text = json.dumps(result)
        clean = headers.scrub(text)
        if clean != text:
            result = json.loads(clean)
    return result


def _failed_words(failed: outbound.OutboundError, spec: Mapping[str, Any]) -> str:
    if isinstance(failed.__cause__, httpx2.TimeoutException):
        return f"The API did not answer within {spec['timeout']:g} s."
    if "more than" in str(failed):
        return "The API's answer is larger than allowed."
    if "redirect" in str(failed):
        return "The API answered with a redirect this tool does not follow."
    return "The API could not be reached."


def build_tool(config: HttpToolConfig) -> Tool:
    spec = config.spec
    output = spec.get("output_schema")
    validator = Draft202012Validator(output) if output else None
    return Tool(
        name=config.name,
        title=spec.get("title"),
        description=spec["description"],
        input_schema=spec["input_schema"],
        output_schema=output,
        annotations=spec.get("annotations"),
        required_scopes=frozenset(spec.get("scopes") or ()),
        handler=partial(call, spec, validator),
        upstream=f"http:{config.name}",
    )
