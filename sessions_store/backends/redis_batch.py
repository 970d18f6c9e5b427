"""Group commit: the Redis commands that callers on one event loop issue while a round trip is
under way go to Redis together, in the next one, and each caller gets its own command's reply.

Under load many requests reach their audit append (and their rate-limit check) at nearly the
same moment; one pipelined write for all of them costs one round trip and one system call each
way instead of one of each per request. Each event loop has one lane: a connection of its own
and at most one batch in flight on it; what arrives meanwhile waits for the next, so batches
grow with the load instead of with the luck of one tick. The commands are packed by hiredis and
written and read on the lane's connection directly: the client's pipeline and connection pool
(a lock, retries and bookkeeping per use) were most of what a batch cost.

Nothing is acknowledged early: a caller's await returns only once Redis has answered its own
command, and raises what its own command raised. Every command is bounded by its own timeout
from the moment it was issued, waiting included: a batch is given until the earliest deadline
among its commands. A failure of the round trip itself (Redis unreachable, the breaker open, a
deadline passed) is raised to every caller of that batch, exactly as each would have seen it
alone, and the connection is dropped (the next batch connects again); the commands of other
batches are untouched. A caller cancelled while waiting cancels only its own future, and a
command whose caller left before its batch was written is not sent.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import hiredis
from redis.exceptions import ResponseError

from sessions_store import metrics

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.connection import AbstractConnection

    from sessions_store.backends.redis import RedisBackend

# (command, the caller's future, the loop time by which its reply is due)
_Pending = list[tuple[tuple[Any, ...], "asyncio.Future[Any]", float]]


@dataclass(eq=False)
class _Lane:
    pending: _Pending = field(default_factory=list)
    writer: asyncio.Task[None] | None = None
    connection: AbstractConnection | None = None

    def connect(self, client: Redis) -> AbstractConnection:
        """The lane's connection, made once like ``client``'s (its server and settings)."""
        if self.connection is None:
            pool = client.connection_pool
            # No socket timeout of its own: every round trip runs under its batch's deadline.
            kwargs = {**pool.connection_kwargs, "socket_timeout": None}
            self.connection = pool.connection_class(**kwargs)
        return self.connection


class RoundTripBatcher:
    def __init__(self, backend: RedisBackend) -> None:
        self.backend = backend
        self._lanes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Lane] = (
            weakref.WeakKeyDictionary()
        )

    async def execute(self, *command: Any, within: float) -> Any:
        """Send ``command`` in this loop's next batch: its reply, or what it raised, in at most
        ``within`` seconds from now."""
        (future,) = self._enqueue((command,), within)
        return await future

    async def execute_many(self, *commands: tuple[Any, ...], within: float) -> list[Any]:
        """Several commands, side by side in the same batch: their replies in order, or the
        first error among them once all were answered."""
        futures = self._enqueue(commands, within)
        errors: list[Exception] = []
        try:
            for future in futures:
                try:
                    await future
                except Exception as exc:  # noqa: BLE001 (raised below, once all are settled)
                    errors.append(exc)
        except asyncio.CancelledError:
            for future in futures:
                future.cancel()
            raise
        if errors:
            raise errors[0]
        return [future.result() for future in futures]

    def _enqueue(
        self, commands: tuple[tuple[Any, ...], ...], within: float
    ) -> list[asyncio.Future[Any]]:
        loop = asyncio.get_running_loop()
        lane = self._lanes.get(loop)
        if lane is None:
            lane = self._lanes[loop] = _Lane()
        due = loop.time() + within
        futures: list[asyncio.Future[Any]] = []
        for command in commands:
            future: asyncio.Future[Any] = loop.create_future()
            lane.pending.append((command, future, due))
            futures.append(future)
        if lane.writer is None:
            # Its first step runs after every callback already scheduled: the requests that
            # reach their command in this same tick join the first batch.
            lane.writer = loop.create_task(self._write(lane))
        return futures

    async def aclose(self) -> None:
        """Drop this event loop's lane and its connection (a loop about to end)."""
        lane = self._lanes.pop(asyncio.get_running_loop(), None)
        if lane is not None and lane.connection is not None:
            await lane.connection.disconnect()

    async def _write(self, lane: _Lane) -> None:
        try:
            while lane.pending:
                batch, lane.pending = lane.pending, []
                await self._round(lane, [entry for entry in batch if not entry[1].done()])
        except BaseException:  # the loop is shutting down: nobody will read a reply
            for _command, future, _due in lane.pending:
                future.cancel()
            lane.pending.clear()
            raise
        finally:
            lane.writer = None

    async def _round(self, lane: _Lane, batch: _Pending) -> None:
        if not batch:
            return
        # Their ratio is the mean batch size: how much the grouping saves.
        metrics.incr("redis.batches")
        metrics.incr("redis.batched_commands", len(batch))
        try:
            replies = await self._send(
                lane, [command for command, _f, _d in batch], min(due for _c, _f, due in batch)
            )
        except Exception as exc:  # noqa: BLE001 (every caller of the batch gets it)
            for _command, future, _due in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:
            for _command, future, _due in batch:
                future.cancel()
            raise
        for (_command, future, _due), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _send(self, lane: _Lane, commands: list[tuple[Any, ...]], due: float) -> list[Any]:
        packed = b"".join([hiredis.pack_command(command) for command in commands])
        with self.backend.guarded():
            connection = lane.connection or lane.connect(self.backend.async_client())
            try:
                # TimeoutError is an OSError: a slow Redis opens the breaker like a dead one.
                async with asyncio.timeout_at(due):
                    await connection.send_packed_command(packed, check_health=False)
                    replies: list[Any] = []
                    for _command in commands:
                        try:
                            replies.append(await connection.read_response(timeout=math.inf))
                        except ResponseError as exc:  # this command's own error
                            replies.append(exc)
                    return replies
            except BaseException:
                # Replies may still be on their way: this connection can serve nobody else.
                await connection.disconnect(nowait=True)
                raise
