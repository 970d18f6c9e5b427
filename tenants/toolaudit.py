"""Every tool call's audit record: its shape, its way to the database, and the one write.

The request path builds a ``ToolCallRecord`` and awaits ``submit``: one Redis call at most
(the ``tool-calls`` journal, ``sessions_store.journal``), never a database write or wait. The
journal's drainers hand batches to ``tool_calls_record``, which appends them to their tenants'
hash chains; a record it already holds (same ``event_id``) is skipped, so a record delivered
twice is written once.

A record never holds a secret or the arguments themselves: the principal by its key id or
subject, the arguments as a size and an HMAC keyed with the server's secret key (equal
arguments give equal digests, for whoever holds the key).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError, connections, router, transaction
from pydantic_core import PydanticSerializationError, to_json

from mcpserver.conf import mcp_settings
from mcpserver.context import request_id_from_header
from mcpserver.process import process_state
from sessions_store.journal import Journal, JournalConfig
from tenants import auditchain
from tenants.audit import clean_details, clean_text
from tenants.models import AuditLog, Tenant
from tenants.principal import AuthMethod, Principal

logger = logging.getLogger(__name__)

ACTION = "tool.call"
_ARGUMENTS_SALT = "tenants.toolaudit.arguments"


class Result:
    """What became of a call; the usage report counts errors and refusals from these."""

    OK = "ok"
    IS_ERROR = "is_error"  # the tool ran and answered isError: true
    PROTOCOL_ERROR = "protocol_error"  # a JSON-RPC error (-32602 unknown tool, bad arguments)
    REFUSED = "refused"  # stopped before the tool ran: insufficient scope, rate limited
    INPUT_REQUIRED = "input_required"  # the tool asked the client for input
    CANCELLED = "cancelled"  # stopped by its client (a cancellation, or leaving) before its answer


_OUTCOMES = {
    Result.OK: AuditLog.Outcome.SUCCESS,
    Result.INPUT_REQUIRED: AuditLog.Outcome.SUCCESS,
    Result.IS_ERROR: AuditLog.Outcome.FAILURE,
    Result.PROTOCOL_ERROR: AuditLog.Outcome.FAILURE,
    Result.REFUSED: AuditLog.Outcome.DENIED,
    Result.CANCELLED: AuditLog.Outcome.CANCELLED,
}


@dataclass
class UpstreamCall:
    """What a tool that calls an upstream noted for its call's record: which upstream, how
    long the upstream took (connection included), and what went wrong, in safe words."""

    name: str
    latency_ms: float | None = None
    error: str = ""


# Set by the tool (``tools.upstream``) in the task that runs the call; read by the protocol's
# audit hook, which resets it around every call.
upstream_call: ContextVar[UpstreamCall | None] = ContextVar("upstream_call", default=None)


def principal_label(principal: Principal) -> str:
    if principal.auth_method is AuthMethod.API_KEY and principal.credential_id:
        return f"api_key:{principal.credential_id}"
    return f"{principal.auth_method}:{principal.subject}"


def _arguments_hmac() -> hmac.HMAC:
    # salted_hmac(_ARGUMENTS_SALT, ..., algorithm="sha256") with its key derived once, not on
    # every call: the same digests, and each call only copies the keyed state.
    key = hashlib.sha256((_ARGUMENTS_SALT + settings.SECRET_KEY).encode()).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


_arguments_keyed = process_state.slot(
    "tenants.toolaudit.arguments_hmac", _arguments_hmac, settings={"SECRET_KEY"}
)


def arguments_fingerprint(arguments: Any) -> dict[str, Any]:
    """The arguments' size (canonical JSON bytes) and keyed digest, never their content."""
    if type(arguments) is dict and not arguments:
        encoded = b"{}"  # most calls, and what the canonical form below gives for them
    else:
        canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
        encoded = canonical.encode()
    keyed = _arguments_keyed.get().copy()
    keyed.update(encoded)
    digest = keyed.hexdigest()
    return {"size": len(encoded), "hmac": digest}


def _client(info: Any) -> dict[str, str]:
    if not isinstance(info, Mapping):
        return {}
    return {k: str(info[k])[:100] for k in ("name", "version") if isinstance(info.get(k), str)}


# Slots, not frozen: a frozen dataclass sets each of its seventeen fields through
# object.__setattr__, which made building a record (once per call) three times slower.
@dataclass(slots=True)
class ToolCallRecord:
    tenant_id: int
    principal: str
    tool: str
    result: str
    duration_ms: float
    request_id: str
    client_ip: str | None = None
    code: int | None = None
    client: dict[str, str] = field(default_factory=dict)
    protocol_version: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)
    # Server-made, unique per record: the client chooses its X-Request-ID, so two calls may
    # share a request id, but never an event id.
    event_id: str = field(default_factory=lambda: request_id_from_header(None))
    # A tenant's own tool: the upstream it called, its latency and error ("" and None else).
    upstream: str = ""
    upstream_ms: float | None = None
    upstream_error: str = ""

    @classmethod
    def build(
        cls,
        *,
        principal: Principal,
        tool: Any,
        arguments: Any,
        client_info: Any,
        protocol_version: Any,
        **fields: Any,
    ) -> ToolCallRecord:
        return cls(
            tenant_id=principal.tenant_id,
            principal=principal_label(principal)[:200],
            tool=tool[:200] if isinstance(tool, str) else "",
            arguments=arguments_fingerprint(arguments),
            client=_client(client_info),
            protocol_version=str(protocol_version)[:32] if protocol_version else "",
            **fields,
        )

    def encode(self) -> bytes:
        # Field by field, not dataclasses.asdict: that deep-copies every value, and was a
        # third of what submitting a record cost. The nested dicts are built by ``build``
        # and never shared, so nothing here needs copying.
        fields = {name: getattr(self, name) for name in _FIELDS}
        if not self.upstream:
            # Records of local tools keep the shape a drainer of an older release reads.
            for name in ("upstream", "upstream_ms", "upstream_error"):
                fields.pop(name)
        try:  # pydantic_core's encoder: the same JSON, in a fifth of the time
            return to_json(fields)
        except PydanticSerializationError:  # a lone surrogate a client sent, escaped
            return json.dumps(fields, separators=(",", ":")).encode()


_FIELDS = tuple(f.name for f in dataclass_fields(ToolCallRecord))


def _build_journal() -> Journal:
    config = JournalConfig(
        name="tool-calls",
        queue_size=int(mcp_settings.AUDIT_QUEUE_SIZE),
        append_timeout=float(mcp_settings.AUDIT_APPEND_TIMEOUT),
        batch=int(mcp_settings.AUDIT_DRAIN_BATCH),
        claim_idle=float(mcp_settings.AUDIT_CLAIM_IDLE),
        drain_in_process=bool(mcp_settings.AUDIT_DRAIN_IN_PROCESS),
        interval=float(mcp_settings.AUDIT_DRAIN_INTERVAL),
    )
    return Journal(config=config, sink=_write_from_journal)


def _write_from_journal(payloads: list[bytes]) -> None:
    # The drainer keeps its thread's connection from batch to batch, whatever CONN_MAX_AGE
    # says: a new one for each was a connect, and on PostgreSQL a login, four times a second.
    # One that failed is closed, so the batch, offered again, gets a fresh connection: a
    # database restarted while the drainer was away costs one try.
    try:
        tool_calls_record(payloads=payloads)
    except DatabaseError:
        connections[router.db_for_write(AuditLog)].close()
        raise


_journal = process_state.slot(
    "tenants.toolaudit.journal",
    _build_journal,
    close=Journal.close,
    settings={"CACHES", "MCP_SERVER", "REDIS_URL"},
)


def journal() -> Journal:
    return _journal.get()


async def submit(record: ToolCallRecord) -> None:
    """Hand the record over before the call is answered; never raises."""
    if mcp_settings.AUDIT_WRITE_INLINE:
        await database_sync_to_async(tool_calls_record)(payloads=[record.encode()])
        return
    await journal().aappend(record.encode())


def submit_nowait(record: ToolCallRecord) -> None:
    """Hand the record over without waiting (a caller being cancelled cannot wait): to the
    journal's in-process queue, which its thread writes to the database; never raises."""
    journal().enqueue(record.encode())


def _row(payload: bytes) -> auditchain.NewRow | None:
    # Field by field, each value made the type its column holds and every string that came
    # from a client (tool name, request id, client name and version, a token's subject)
    # cleaned; not clean_details over the whole record, which was a third of a row's cost.
    try:
        record = ToolCallRecord(**json.loads(payload))
        details: dict[str, Any] = {
            "result": record.result,
            "code": None if record.code is None else int(record.code),
            "duration_ms": round(float(record.duration_ms), 3),
            "client": {str(k): clean_text(str(v), limit=100) for k, v in record.client.items()},
            "protocol_version": clean_text(record.protocol_version, limit=32),
            "arguments": {
                "size": int(record.arguments["size"]),
                "hmac": clean_text(str(record.arguments["hmac"]), limit=64),
            }
            if record.arguments
            else {},
        }
        if record.upstream:
            upstream_ms = record.upstream_ms
            details["upstream"] = clean_text(record.upstream)
            # clean_details: a non-finite latency becomes text
            details["upstream_ms"] = clean_details(
                None if upstream_ms is None else round(float(upstream_ms), 3)
            )
            if record.upstream_error:
                details["upstream_error"] = clean_text(record.upstream_error)
        when = datetime.fromtimestamp(float(record.time), tz=UTC)
        outcome = _OUTCOMES[record.result]
    except (ValueError, TypeError, KeyError, AttributeError):
        logger.error("tool-call audit record skipped: not a record this server writes")
        return None
    return auditchain.NewRow(
        time=when,
        tenant_id=record.tenant_id,
        actor=clean_text(record.principal, limit=200),
        action=ACTION,
        target=clean_text(record.tool, limit=300),
        outcome=outcome,
        client_ip=record.client_ip,
        request_id=clean_text(record.request_id, limit=64),
        event_id=clean_text(record.event_id, limit=64),
        details=details,
    )


def tool_calls_record(*, payloads: list[bytes]) -> int:
    """Write encoded ``ToolCallRecord``s once each; returns how many rows were new.

    Raises when the database cannot take them (the journal offers them again).
    """
    rows: dict[str, auditchain.NewRow] = {}
    for payload in payloads:
        row = _row(payload)
        if row is not None and row.event_id:
            rows[row.event_id] = row
    by_tenant: dict[int | None, list[auditchain.NewRow]] = defaultdict(list)
    known = set(
        Tenant.objects.filter(pk__in={row.tenant_id for row in rows.values()}).values_list(
            "pk", flat=True
        )
    )
    for row in rows.values():
        if row.tenant_id not in known:
            row.details["tenant_id"], row.tenant_id = row.tenant_id, None
        by_tenant[row.tenant_id].append(row)
    written = 0
    for tenant_id, batch in by_tenant.items():
        with transaction.atomic():
            written += auditchain.append(
                sorted(batch, key=lambda row: row.time), tenant_id=tenant_id, skip_existing=True
            )
    return written
