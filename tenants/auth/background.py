"""Database writes that a request must not wait for (audit rows, last-used times).

They run in Django's database thread via ``database_sync_to_async`` as tasks of the running
loop, so the event loop never blocks on them; with no loop running they run inline.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async

logger = logging.getLogger(__name__)

_pending: set[asyncio.Task[Any]] = set()


def spawn(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _run(func, *args, **kwargs)
        return
    task = loop.create_task(database_sync_to_async(_run)(func, *args, **kwargs))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


def _run(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
    try:
        func(*args, **kwargs)
    except Exception:  # a failed audit write must not fail the request that caused it
        logger.exception("background write %s failed", getattr(func, "__name__", func))


async def drain() -> None:
    """Wait for every pending write of the running loop (tests, the benchmark, shutdown)."""
    loop = asyncio.get_running_loop()
    while mine := [t for t in _pending if t.get_loop() is loop]:
        await asyncio.gather(*mine, return_exceptions=True)
