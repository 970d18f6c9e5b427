"""The audit log's hash chains: one per tenant, one for rows without a tenant.

Every row carries its position in its chain (``seq``, from 1), the digest of the row before
(``prev_digest``, 64 zeros for the first) and its own ``digest``: SHA-256 over a canonical
encoding of its fields and ``prev_digest``. A changed row no longer matches its digest, a
removed row leaves a gap in ``seq``, an inserted row breaks the link of the row after it (or
the chain's head, which records the last seq and digest). Writers lock the chain's head row
with ``select_for_update`` (SQLite transactions here are IMMEDIATE, which serializes them), so
two writers never take the same place.

The chain shows tampering by anyone who changes rows without recomputing every digest after
them; against someone who can rewrite the whole table, record the head digest printed by
``verify_audit`` somewhere they cannot reach.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q

from tenants.models import AuditChainHead, AuditLog

GENESIS = "0" * 64
NO_TENANT = "-"


def chain_of(tenant_id: int | None) -> str:
    return NO_TENANT if tenant_id is None else str(tenant_id)


def _canonical(value: Any) -> Any:
    # PostgreSQL's jsonb gives 1e20 back as an integer and -0.0 as 0: digest what survives.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


@functools.lru_cache(maxsize=4096)  # a batch's rows mostly come from a few addresses
def _address(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return ipaddress.ip_address(value).compressed  # inet columns normalise IPv6 text
    except ValueError:
        return value


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def row_digest(row: Any, prev_digest: str) -> str:
    """The digest of ``row`` (an AuditLog, or its historical model in a migration)."""
    fields = {
        "seq": row.seq,
        "time": _time(row.time),
        "tenant": row.tenant_id,
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "outcome": row.outcome,
        "client_ip": _address(row.client_ip),
        "request_id": row.request_id,
        "event_id": row.event_id or None,
        "details": _canonical(row.details),
        "prev": prev_digest,
    }
    encoded = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode()).hexdigest()


def link(rows: Iterable[Any], *, seq: int, prev_digest: str) -> tuple[int, str]:
    """Give ``rows`` their places after (``seq``, ``prev_digest``); returns the new head."""
    for row in rows:
        seq += 1
        row.seq = seq
        row.prev_digest = prev_digest
        row.digest = prev_digest = row_digest(row, prev_digest)
    return seq, prev_digest


@dataclass(slots=True)
class NewRow:
    """An audit row on its way in: the fields ``append`` writes, without the weight of a model
    instance (building and inserting those was most of what the audit drainer cost)."""

    time: dt.datetime
    tenant_id: int | None
    actor: str
    action: str
    target: str
    outcome: str
    client_ip: str | None
    request_id: str
    details: Any
    event_id: str | None = None
    seq: int = 0
    prev_digest: str = ""
    digest: str = ""


_COLUMNS: tuple[str, ...] = NewRow.__slots__
_DETAILS = _COLUMNS.index("details")


def _insert(rows: Sequence[NewRow]) -> None:
    """Insert ``rows`` in one statement's worth of round trips.

    A batch on PostgreSQL goes through ``COPY`` (psycopg writes the rows in C; an
    ``executemany`` of a client-side-bound ``INSERT`` spent more on quoting parameters in
    Python than the database spent on the rows); otherwise one ``INSERT`` of the parameters
    each field makes, as the ORM would, executed once per row.
    """
    connection = connections[router.db_for_write(AuditLog)]
    meta = AuditLog._meta
    by_attname = {field.attname: field for field in meta.concrete_fields}
    fields = [by_attname[name] for name in _COLUMNS]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(str(field.column)) for field in fields)
    with connection.cursor() as cursor:
        if len(rows) > 1 and connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    values = [getattr(row, name) for name in _COLUMNS]
                    values[_DETAILS] = json.dumps(values[_DETAILS])  # jsonb takes JSON text
                    copy.write_row(values)
            return
        named = list(zip(fields, _COLUMNS, strict=True))
        params = [[field.get_db_prep_save(getattr(row, name), connection) for field, name in named]
                  for row in rows]  # fmt: skip
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
        if len(params) == 1:
            cursor.execute(sql, params[0])
        else:
            cursor.executemany(sql, params)


def _locked_head(chain: str) -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(chain=chain).first()
    if head is not None:
        return head
    try:
        with transaction.atomic():  # a savepoint: a concurrent creator wins, we wait on it
            AuditChainHead.objects.create(chain=chain)
    except IntegrityError:
        pass
    return AuditChainHead.objects.select_for_update().get(chain=chain)


def append(rows: Sequence[NewRow], *, tenant_id: int | None, skip_existing: bool = False) -> int:
    """Insert ``rows`` (all of one chain) at its end; returns how many were inserted.

    Call inside a transaction. ``skip_existing``: leave out rows whose ``event_id`` is already
    written (checked under the head's lock, so two writers of one record cannot both insert).
    """
    if not rows:
        return 0
    head = _locked_head(chain_of(tenant_id))
    if skip_existing:
        ids = [row.event_id for row in rows if row.event_id]
        present = set(AuditLog.objects.filter(event_id__in=ids).values_list("event_id", flat=True))
        rows = [row for row in rows if row.event_id not in present]
        if not rows:
            return 0
    seq, digest = link(rows, seq=head.seq, prev_digest=head.digest or GENESIS)
    _insert(rows)
    AuditChainHead.objects.filter(pk=head.pk).update(seq=seq, digest=digest)
    return len(rows)


@dataclass(frozen=True)
class Verdict:
    rows: int
    head_digest: str
    broken: str | None = None  # the first broken link, in words
    # Rows through this seq were trimmed by retention; the chain is checked from its anchor.
    trimmed_through: int = 0

    @property
    def intact(self) -> bool:
        return self.broken is None


def locked_head(tenant_id: int | None) -> AuditChainHead:
    """The chain's head, locked until the transaction ends (created if missing)."""
    return _locked_head(chain_of(tenant_id))


def verify(tenant_id: int | None) -> Verdict:
    """Walk one chain from its first row (or its retention anchor); stop at the first broken
    link. Rows trimmed by retention are not missing: the anchor holds the last one's digest."""
    head = AuditChainHead.objects.filter(chain=chain_of(tenant_id)).first()
    anchor_seq = head.anchor_seq if head else 0
    anchor = (head.anchor_digest or GENESIS) if head and anchor_seq else GENESIS
    mine = Q(tenant__isnull=True) if tenant_id is None else Q(tenant_id=tenant_id)
    rows = AuditLog.objects.filter(mine).order_by("seq", "id")
    expected_seq, prev = anchor_seq, anchor

    def verdict(broken: str | None = None, *, upto: int) -> Verdict:
        return Verdict(upto - anchor_seq, prev, broken, trimmed_through=anchor_seq)

    for row in rows.iterator(chunk_size=2000):
        expected_seq += 1
        where = f"row id {row.pk} at seq {row.seq}"
        if row.seq < expected_seq:
            return verdict(f"{where}: inserted (seq {row.seq} is taken)", upto=expected_seq - 1)
        if row.seq > expected_seq:
            missing = f"seq {expected_seq}" + (
                f"-{row.seq - 1}" if row.seq - 1 > expected_seq else ""
            )
            return verdict(f"{missing} removed (next is {where})", upto=expected_seq - 1)
        if row.prev_digest != prev:
            return verdict(
                f"{where}: does not link to the row before (inserted?)", upto=expected_seq - 1
            )
        if row.digest != row_digest(row, prev):
            return verdict(f"{where}: changed (digest does not match)", upto=expected_seq - 1)
        prev = row.digest
    head_seq, head_digest = (head.seq, head.digest or GENESIS) if head else (0, GENESIS)
    if (head_seq, head_digest) != (expected_seq, prev):
        if head_seq > expected_seq:
            problem = f"seq {expected_seq + 1}-{head_seq} removed (the head is at {head_seq})"
        else:
            problem = f"the chain's head is at seq {head_seq}, rows go on to {expected_seq}"
        return verdict(problem, upto=expected_seq)
    return verdict(upto=expected_seq)
