"""Counters in Redis (``TENANTRY_REDIS_URL``): the same fixed windows as the database counters.

One Lua script counts a request in all its scopes atomically, in order, stopping at the first
scope over its rule: ``INCR``, and on a key's first count ``PEXPIRE`` for the window, so the key
vanishes when its window ends (no pruning needed). The script touches several keys, so it needs
a single Redis server (or Sentinel), not Redis Cluster.
"""

from __future__ import annotations

import logging

import redis

from tenantry import errors
from tenantry.ratelimit.counters import Hit, Refusal, retry_after

log = logging.getLogger("tenantry.ratelimit")

KEY_PREFIX = "tenantry:ratelimit:"

# KEYS[i]: a counter; ARGV[2i-1], ARGV[2i]: its limit and window in milliseconds.
# Returns {0, 0} when all are within their limits, else {i, milliseconds left in i's window}.
_HIT_SCRIPT = """
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[2 * i - 1])
    local window_ms = tonumber(ARGV[2 * i])
    local hits = redis.call('INCR', key)
    local ttl = redis.call('PTTL', key)
    if hits == 1 or ttl < 0 then
        redis.call('PEXPIRE', key, window_ms)
        ttl = window_ms
    end
    if hits > limit then
        return {i, ttl}
    end
end
return {0, 0}
"""


class RedisCounters:
    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._client.register_script(_HIT_SCRIPT)

    def hit(self, hits: list[Hit]) -> Refusal | None:
        keys = [f"{KEY_PREFIX}{hit.scope}:{hit.key}" for hit in hits]
        args = [value for hit in hits for value in (hit.rule.count, hit.rule.window_seconds * 1000)]
        try:
            index, ms_left = self._script(keys=keys, args=args)
        except redis.RedisError as exc:
            # Fail closed: without its counters the server cannot promise the limits.
            log.warning("rate-limit counters unavailable: %s", type(exc).__name__)
            raise errors.ServiceUnavailable() from exc
        if index == 0:
            return None
        return Refusal(hits[index - 1].scope, retry_after(ms_left / 1000))

    def close(self) -> None:
        self._client.close()
