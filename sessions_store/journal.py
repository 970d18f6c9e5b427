"""A journal: records the request path hands over without waiting on the database.

``aappend`` puts one record in the shared tier's Redis stream (one XADD, bounded by a short
timeout, behind the store's breaker), sealed with the key ring under the stream's name so
nothing written to Redis by anyone else is taken for a record. Without Redis (the embedded
default, an outage, an open breaker) the record goes to a bounded in-process queue instead,
which a background thread hands to the sink: never the event loop, never the caller. So does
a record whose caller is cancelled while its append waits (it may reach the stream as well).

Drainers (``drain_stream``: a thread in each server process, a Celery task, a management
command) read the stream through a consumer group and acknowledge entries only after the sink
returned, so a drainer that dies or a sink whose database is down leaves them for the next
round. The sink therefore sees a record at least once; it must be idempotent (the audit log
ignores a record id it already holds). What it cannot parse it skips; it raises only when it
could not commit, and the records are offered again.

A record survives a crashed process once it is in Redis; one in the in-process queue (Redis
down) is gone if the process dies before the database took it, and one that finds the queue
full is dropped, counted and logged.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connections

from sessions_store import metrics
from sessions_store.crypto import get_keyring, security_log

if TYPE_CHECKING:  # the embedded default never imports redis
    from sessions_store.backends.redis_journal import RedisStream

logger = logging.getLogger("sessions_store")

Sink = Callable[[list[bytes]], None]


@dataclass(frozen=True)
class JournalConfig:
    name: str
    queue_size: int = 10_000
    append_timeout: float = 0.25
    batch: int = 200
    claim_idle: float = 30.0
    # Well under the store client's socket timeout (0.5 s): a blocking read that outlasts it
    # times out, and the store's breaker would then take Redis for down.
    block: float = 0.2
    drain_in_process: bool = True
    # After a round that found less than a full batch, the in-process drainer waits this long
    # before reading again: under load it then writes full batches (one transaction, one
    # chain-head lock and one acknowledgement per batch) instead of a few rows per round,
    # whose fixed cost, paid on the serving process's GIL, was most of what a call cost.
    interval: float = 0.25


class Journal:
    def __init__(self, *, config: JournalConfig, sink: Sink) -> None:
        from sessions_store.store import get_store

        self.config = config
        self._sink = sink
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=config.queue_size)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.consumer = f"{socket.gethostname()}:{os.getpid()}"
        self.stream = _stream_of(get_store().backend, config)
        atexit.register(self.close)

    # -- the request path ------------------------------------------------------------------
    async def aappend(self, record: bytes) -> None:
        """Hand ``record`` over; never raises, and never waits longer than the append timeout.
        Cancelled while it waits, it hands the record to the in-process queue and re-raises."""
        self._ensure_threads()
        if self.stream is not None:
            try:
                envelope = get_keyring().seal(record, aad=self.stream.name)
                await self.stream.aappend(envelope)
                return
            except asyncio.CancelledError:
                # The caller is going (its client left) with its record on the way: sent or
                # not, the queue takes it too. A record that reaches the sink twice is one.
                self.enqueue(record)
                raise
            except Exception as exc:  # noqa: BLE001 (any failure: the queue takes it)
                metrics.incr(f"journal.{self.config.name}.fallback")
                logger.debug("journal %s: stream append failed (%s)", self.config.name, exc)
        self.enqueue(record)

    def enqueue(self, record: bytes) -> None:
        self._ensure_threads()
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            metrics.incr(f"journal.{self.config.name}.dropped")
            logger.error("journal %s: in-process queue full, a record is lost", self.config.name)

    # -- draining --------------------------------------------------------------------------
    def drain_stream(self, *, consumer: str | None = None, block: float = 0.0) -> int:
        """One round: read a batch for ``consumer``, sink it, acknowledge it. Returns how many
        entries were settled; raises when Redis or the sink failed (nothing acknowledged)."""
        if self.stream is None:
            return 0
        entries = self.stream.read(
            consumer or self.consumer,
            count=self.config.batch,
            block_ms=int(block * 1000),
            claim_idle_ms=int(self.config.claim_idle * 1000),
        )
        if not entries:
            return 0
        keyring = get_keyring()
        records = []
        for _entry_id, envelope in entries:
            opened = None if envelope is None else keyring.open(envelope, aad=self.stream.name)
            if opened is None and envelope is not None:
                security_log.warning("journal entry refused: not sealed by this server")
            if opened is not None:
                records.append(opened)
        if records:
            self._sink(records)
        self.stream.ack([entry_id for entry_id, _ in entries])
        return len(entries)

    def drain_until_empty(self, *, deadline: float | None = None) -> int:
        """Drain the stream until a round finds nothing (or ``deadline``, a monotonic time)."""
        total = 0
        while deadline is None or time.monotonic() < deadline:
            settled = self.drain_stream()
            total += settled
            if not settled:
                break
        return total

    def depth(self) -> tuple[int, int, float]:
        """For the metrics: records in this process's queue, entries in the shared stream
        and the age in seconds of its oldest. Raises when Redis does."""
        if self.stream is None:
            return self._queue.qsize(), 0, 0.0
        return self._queue.qsize(), self.stream.backlog(), self.stream.oldest_age()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the in-process queue has reached the sink; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline or not self._threads:
                return False
            time.sleep(0.02)
        return True

    # -- threads ---------------------------------------------------------------------------
    def _ensure_threads(self) -> None:
        if self._threads or self._stop.is_set():
            return
        with self._lock:
            if self._threads:
                return
            targets = [self._run_queue]
            if self.stream is not None and self.config.drain_in_process:
                targets.append(self._run_stream)
            for target in targets:
                thread = threading.Thread(
                    target=_closing_connections,
                    args=(target,),
                    name=f"journal-{self.config.name}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

    def _run_queue(self) -> None:
        held: list[bytes] = []
        failures = 0
        while not self._stop.is_set() or held or not self._queue.empty():
            if not held:
                try:
                    held.append(self._queue.get(timeout=0.5))
                except queue.Empty:
                    continue
            while len(held) < self.config.batch:
                try:
                    held.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._sink(held)
            except Exception:  # noqa: BLE001 (kept and offered again)
                failures += 1
                _log_retry(self.config.name, "in-process queue", failures)
                if self._stop.wait(_backoff(failures)):
                    return  # closing while the sink is down: close() said how many are lost
                continue
            for _ in held:
                self._queue.task_done()
            held, failures = [], 0

    def _run_stream(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                settled = self.drain_stream(block=self.config.block)
                failures = 0
            except Exception:  # noqa: BLE001 (the entries stay pending: retried)
                failures += 1
                _log_retry(self.config.name, "stream", failures)
                self._stop.wait(_backoff(failures))
                continue
            if 0 < settled < self.config.batch:
                self._stop.wait(self.config.interval)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the threads, giving the in-process queue ``timeout`` seconds to reach the sink."""
        if self._stop.is_set():
            return
        self.flush(timeout)
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=1.0)
        left = self._queue.qsize()
        if left:
            logger.error("journal %s: %d records not written at close", self.config.name, left)


def _stream_of(backend: object, config: JournalConfig) -> RedisStream | None:
    from sessions_store.backends.redis import RedisBackend

    if not isinstance(backend, RedisBackend):
        return None
    from sessions_store.backends.redis_journal import RedisStream

    name = f"j:{config.name}".encode()
    return RedisStream(backend, name, append_timeout=config.append_timeout)


def _closing_connections(run: Callable[[], None]) -> None:
    try:
        run()
    finally:
        connections.close_all()  # this thread's database connections, which nothing else closes


def _backoff(failures: int) -> float:
    return float(min(0.2 * 2 ** min(failures, 5), 5.0))


def _log_retry(name: str, source: str, failures: int) -> None:
    metrics.incr(f"journal.{name}.retry")
    if failures == 1 or failures % 20 == 0:
        logger.warning(
            "journal %s: %s not written yet (%d attempts), retrying",
            name,
            source,
            failures,
            exc_info=failures == 1,
        )
