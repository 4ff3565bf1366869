"""The daily schedule: ``aiops cron`` registers the right-sizing of the watched namespaces, and the
job it enqueues runs in the allowlisting worker and parks proposals (rule ``schedule:rightsizing``).

Real parts: RQ's cron scheduler and the product's worker (``workers.runner.worker``) on a real Redis,
the sandbox with a week of backfilled history in a real Prometheus."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rq import Queue

from rules.registry import RuleRegistry
from tests.support import rightsizing
from tests.support.pipeline import fast_rules
from workers.integrations.kubernetes.client import Kube
from workers.runner.cron import build_scheduler
from workers.runner.worker import build_worker
from workers.settings import Settings
from workers.spine import queues
from workers.spine.context import Context, install


@pytest.fixture
def context(tmp_path: Path, redis_conn: Any, redis_server: Any) -> Iterator[Context]:
    backfilled = rightsizing.start(tmp_path)
    try:
        rules_dir = fast_rules(tmp_path / "rules")
        settings = Settings.model_validate(
            {
                "redis": {"url": redis_server.url},
                "prometheus": {"url": backfilled.prometheus.url, "timeout_s": 30},
                "rules": {"dir": str(rules_dir)},
                "notify": {"sinks": [{"type": "log"}]},
                "rightsizing": {"namespaces": ["shop", "kube-system"], "schedule_cron": "15 4 * * *"},
            }
        )
        yield Context(
            settings=settings,
            redis=redis_conn,
            rules=RuleRegistry(rules_dir),
            kube_factory=lambda: Kube(backfilled.cluster.api_client()),
        )
    finally:
        rightsizing.stop(backfilled)


def test_the_daily_job_parks_proposals_for_the_watched_namespaces(context: Context) -> None:
    jobs = {job.name: job for job in build_scheduler(context, context.settings).get_jobs()}
    daily = jobs["rightsizing"]
    assert daily.cron == "15 4 * * *" and daily.queue_name == queues.REPORTS
    daily.enqueue(context.redis)  # what the scheduler does at 04:15
    install(context)
    build_worker(context, [queues.REPORTS]).work(burst=True, logging_level="WARNING")
    assert Queue(queues.REPORTS, connection=context.redis).count == 0
    parked = context.proposals.list(status="pending", limit=100)
    assert parked and {p.rule for p in parked} == {"schedule:rightsizing"}
    assert {p.target["namespace"] for p in parked} == {"shop"}, "kube-system is denied: never analysed"
    assert {p.action["type"] for p in parked} == {"patch-resources"}


def test_no_schedule_when_the_expression_is_empty(context: Context) -> None:
    settings = context.settings.model_copy(deep=True)
    settings.rightsizing.schedule_cron = ""
    assert "rightsizing" not in {job.name for job in build_scheduler(context, settings).get_jobs()}
