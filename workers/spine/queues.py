"""Queue names and the options every job is enqueued with."""

from __future__ import annotations

from typing import Any

import redis
from rq import Queue, Retry

ALERTS = "alerts"
ACTIONS = "actions"
ADVICE = "advice"  # AI advisers: slow (minutes), so never in front of investigations
REPORTS = "reports"
ALL = (ACTIONS, ALERTS, ADVICE, REPORTS)
"""Every queue, in the order a worker serves them: approved actions and validation rounds first, so an alert
storm never holds back a decision already taken; the slow advisers and reports last."""

# Investigations are idempotent (deterministic proposal ids), so a crashed one is simply run again.
INVESTIGATE_OPTIONS: dict[str, Any] = {
    "retry": Retry(max=3, interval=[5, 30, 120]),
    "job_timeout": 300,
    "result_ttl": 86400,
    "failure_ttl": 7 * 86400,
}
# Executions are never retried by RQ: a crash during `executing` ends in `unknown` for a person.
EXECUTE_OPTIONS: dict[str, Any] = {"job_timeout": 600, "result_ttl": 86400, "failure_ttl": 7 * 86400}
VALIDATE_OPTIONS: dict[str, Any] = {
    "retry": Retry(max=3, interval=[10, 60]),
    "job_timeout": 300,
    "result_ttl": 86400,
    "failure_ttl": 7 * 86400,
}
ADVISE_OPTIONS: dict[str, Any] = {"job_timeout": 1800, "result_ttl": 86400, "failure_ttl": 7 * 86400}


def queue(name: str, connection: redis.Redis) -> Queue:
    return Queue(name, connection=connection)


def rq_options(options: dict[str, Any]) -> dict[str, Any]:
    """Our option names to ``Queue.enqueue_call`` keywords."""
    renamed = dict(options)
    if "job_timeout" in renamed:
        renamed["timeout"] = renamed.pop("job_timeout")
    return renamed
