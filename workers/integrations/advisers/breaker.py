"""A circuit breaker per adviser, kept in Redis so that every worker sees the same state.

``aiops:breaker:{name}`` is a hash of the consecutive failures and the last error;
``aiops:breaker:{name}:open`` exists (with the cooldown as its TTL) while the breaker is open.
When the cooldown ends the next consultation goes through; if it fails too, the failure count is
still at the threshold and the breaker opens again at once (half-open). A success resets both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis

from workers.errors import StoreUnavailable
from workers.settings import AdviserSettings

PREFIX = "aiops:breaker:"
# Failure counts are forgotten after a quiet day even without a success.
FAILURE_MEMORY_S = 24 * 3600

# KEYS[1] hash, KEYS[2] open flag; ARGV: threshold, cooldown, memory, last error (JSON).
_RECORD_FAILURE = """
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('HSET', KEYS[1], 'last_error', ARGV[4])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
if failures >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], failures, 'EX', tonumber(ARGV[2]))
  return {failures, 1}
end
return {failures, 0}
"""


@dataclass
class BreakerState:
    """Where one adviser's breaker stands."""

    name: str
    failures: int
    open: bool
    retry_after_s: int | None
    last_error: str

    def describe(self, threshold: int) -> str:
        """A sentence for the record saying why the adviser was skipped."""
        wait = f"; next attempt allowed in {self.retry_after_s}s" if self.retry_after_s else ""
        last = f" (last: {self.last_error})" if self.last_error else ""
        return (
            f"circuit breaker open after {self.failures} consecutive failures"
            f" (threshold {threshold}){last}{wait}"
        )


class Breaker:
    """Read and update adviser breakers in Redis."""

    def __init__(self, connection: redis.Redis, settings: AdviserSettings) -> None:
        self.redis = connection
        self.threshold = settings.breaker_failures
        self.cooldown_s = settings.breaker_cooldown_s
        self._record = connection.register_script(_RECORD_FAILURE)

    @staticmethod
    def _keys(name: str) -> tuple[str, str]:
        return PREFIX + name, PREFIX + name + ":open"

    def state(self, name: str) -> BreakerState:
        """The breaker of adviser ``name``."""
        hash_key, open_key = self._keys(name)
        try:
            pipe = self.redis.pipeline()
            pipe.hgetall(hash_key)
            pipe.pttl(open_key)
            fields, ttl_ms = pipe.execute()
        except redis.RedisError as exc:
            raise StoreUnavailable(f"redis: cannot read breaker {name}: {exc}") from exc
        fields = {k.decode() if isinstance(k, bytes) else k: v for k, v in (fields or {}).items()}
        raw_error = fields.get("last_error") or b'""'
        last_error = json.loads(raw_error.decode() if isinstance(raw_error, bytes) else raw_error)
        is_open = ttl_ms is not None and ttl_ms > 0
        return BreakerState(
            name=name,
            failures=int(fields.get("failures") or 0),
            open=is_open,
            retry_after_s=max(1, -(-int(ttl_ms) // 1000)) if is_open else None,
            last_error=str(last_error),
        )

    def is_open(self, name: str) -> bool:
        return self.state(name).open

    def record_failure(self, name: str, error: str) -> BreakerState:
        """Count one more consecutive failure; opens the breaker at the threshold."""
        hash_key, open_key = self._keys(name)
        try:
            self._record(
                keys=[hash_key, open_key],
                args=[self.threshold, self.cooldown_s, FAILURE_MEMORY_S, json.dumps(error[:300])],
            )
        except redis.RedisError as exc:
            raise StoreUnavailable(f"redis: cannot update breaker {name}: {exc}") from exc
        return self.state(name)

    def record_success(self, name: str) -> None:
        """Close the breaker and forget past failures."""
        try:
            self.redis.delete(*self._keys(name))
        except redis.RedisError as exc:
            raise StoreUnavailable(f"redis: cannot reset breaker {name}: {exc}") from exc
