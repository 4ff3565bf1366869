"""Adviser circuit breakers in a real Redis: counting, opening, half-open retry and reset."""

from __future__ import annotations

import redis

from workers.integrations.advisers.breaker import Breaker
from workers.settings import AdviserSettings


def _breaker(connection: redis.Redis, failures: int = 3, cooldown: int = 300) -> Breaker:
    return Breaker(connection, AdviserSettings(breaker_failures=failures, breaker_cooldown_s=cooldown))


def test_opens_after_the_threshold_of_consecutive_failures(redis_conn: redis.Redis) -> None:
    breaker = _breaker(redis_conn)
    assert breaker.state("kagent").failures == 0 and not breaker.is_open("kagent")
    breaker.record_failure("kagent", "timeout: no answer")
    state = breaker.record_failure("kagent", "timeout: no answer")
    assert (state.failures, state.open) == (2, False)
    state = breaker.record_failure("kagent", "unavailable: cannot reach http://kagent")
    assert (state.failures, state.open) == (3, True)
    assert 295 <= state.retry_after_s <= 300
    assert 295 <= redis_conn.ttl("aiops:breaker:kagent:open") <= 300
    assert state.describe(3) == (
        "circuit breaker open after 3 consecutive failures (threshold 3) "
        "(last: unavailable: cannot reach http://kagent); next attempt allowed in "
        f"{state.retry_after_s}s"
    )
    assert not breaker.is_open("holmesgpt")  # breakers are per adviser


def test_success_resets_the_breaker(redis_conn: redis.Redis) -> None:
    breaker = _breaker(redis_conn, failures=2)
    breaker.record_failure("k8sgpt", "error")
    breaker.record_failure("k8sgpt", "error")
    assert breaker.is_open("k8sgpt")
    breaker.record_success("k8sgpt")
    state = breaker.state("k8sgpt")
    assert (state.failures, state.open, state.last_error) == (0, False, "")
    assert redis_conn.keys("aiops:breaker:*") == []


def test_after_the_cooldown_one_more_failure_reopens_at_once(redis_conn: redis.Redis) -> None:
    breaker = _breaker(redis_conn, failures=3)
    for _ in range(3):
        breaker.record_failure("kubectl-ai", "timeout")
    redis_conn.delete("aiops:breaker:kubectl-ai:open")  # the cooldown ran out
    assert not breaker.is_open("kubectl-ai")  # half-open: the next call goes through
    assert breaker.record_failure("kubectl-ai", "timeout").open


def test_failure_counts_expire_when_quiet(redis_conn: redis.Redis) -> None:
    _breaker(redis_conn).record_failure("holmesgpt", "error")
    assert 0 < redis_conn.ttl("aiops:breaker:holmesgpt") <= 24 * 3600
