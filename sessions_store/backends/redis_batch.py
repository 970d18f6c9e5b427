"""Group commit: the Redis commands that callers on one event loop issue in the same tick go
to Redis together, in one pipeline, and each caller gets its own command's reply.

Under load many requests reach their audit append in the same turn of the event loop; one
pipeline for all of them costs one round trip, one connection taken from the pool and one
system call each way instead of one of each per request. Nothing is acknowledged early: a
caller's await returns only once Redis has answered its own command, and raises what its own
command raised. A failure of the round trip itself (Redis unreachable, the breaker open, the
timeout passed) is raised to every caller of that batch, exactly as each would have seen it
alone; the commands of other batches are untouched.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from sessions_store import metrics

if TYPE_CHECKING:
    from sessions_store.backends.redis import RedisBackend

_Pending = list[tuple[tuple[Any, ...], "asyncio.Future[Any]"]]


class TickBatcher:
    def __init__(self, backend: RedisBackend, *, timeout: float) -> None:
        self.backend = backend
        self.timeout = timeout
        self._pending: dict[asyncio.AbstractEventLoop, _Pending] = {}
        self._writes: set[asyncio.Task[None]] = set()  # held: a task nobody holds may vanish

    async def execute(self, *command: Any) -> Any:
        """Send ``command`` with the others of this tick; its reply, or what it raised."""
        loop = asyncio.get_running_loop()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            # Runs after every callback already scheduled for this tick: those are the
            # requests that may append in the same tick.
            loop.call_soon(self._flush, loop)
        future: asyncio.Future[Any] = loop.create_future()
        pending.append((command, future))
        # A caller cancelled meanwhile cancels only its own future: the batch is sent for the
        # others (and its command may still be applied, as a cancelled lone call's may).
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._pending.pop(loop, [])
        if not batch:
            return
        # Their ratio is the mean batch size: how much the grouping saves.
        metrics.incr("redis.batches")
        metrics.incr("redis.batched_commands", len(batch))
        task = loop.create_task(self._write(batch))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, batch: _Pending) -> None:
        try:
            replies = await self._send([command for command, _future in batch])
        except Exception as exc:  # noqa: BLE001 (every caller of the batch gets it)
            for _command, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:  # the loop is shutting down: nobody will read a reply
            for _command, future in batch:
                future.cancel()
            raise
        for (_command, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _send(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        client = self.backend.async_client()
        with self.backend.guarded():
            async with client.pipeline(transaction=False) as pipe:
                for command in commands:
                    pipe.execute_command(*command)
                # TimeoutError is an OSError: a slow Redis opens the breaker like a dead one.
                # asyncio.timeout, not wait_for: no task of its own for every batch.
                async with asyncio.timeout(self.timeout):
                    return list(await pipe.execute(raise_on_error=False))
