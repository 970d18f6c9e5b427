"""The GCRA of ``tenants.ratelimit_local`` as one Lua script: the budget every instance shares.

One script call per request (sent in one pipeline with those of other requests in the same
event-loop tick), so the check and the update are one atomic step (no read then
write) and the clock is Redis's own (``TIME``), the same for every instance whatever their
clocks say. Keys expire when their TAT has passed, so an idle credential costs nothing. The
call goes through the shared store's Redis connection and its circuit breaker: a dead or hung
Redis raises at once (or after the store's 0.5 s socket timeout for the first call), and the
caller limits in-process instead.
"""

from __future__ import annotations

from typing import Any

from sessions_store.backends.redis import RedisBackend
from tenants.ratelimit_local import Checks, Refusal

# KEYS: the limited keys. ARGV: per key, its interval and period in milliseconds.
# Returns {0, index (1-based), wait in ms, rounded up} for a refusal, {1, 0, 0} otherwise.
GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local worst, which = 0.001, 0
local moved = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now) or now
  if tat < now then tat = now end
  local wait = tat + interval - period - now
  if wait > worst then worst, which = wait, i end
  moved[i] = tat + interval
end
if which > 0 then return {0, which, math.ceil(worst)} end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.3f', moved[i]), 'PX', math.ceil(moved[i] - now) + 1)
end
return {1, 0, 0}
"""


async def take(backend: RedisBackend, checks: Checks) -> Refusal | None:
    """Like ``ratelimit_local.take``, against the shared budget. Raises ``StoreUnavailable``
    or a Redis error when Redis cannot answer."""
    args: list[int | float | str] = []
    for _key, rate in checks:
        args += [rate.interval * 1000, rate.period * 1000]
    # Batched: the checks of requests arriving in the same event-loop tick share a round trip.
    keys = [key for key, _rate in checks]
    result: Any = await backend.ascript_batched(GCRA, keys=keys, args=args)
    allowed, which, wait_ms = (int(value) for value in result)
    if allowed:
        return None
    return Refusal(index=which - 1, wait=wait_ms / 1000)
