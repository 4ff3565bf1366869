"""A decision already taken is not held back by an alert storm: the default worker serves the actions
queue first (real Redis, the responder's own RQ worker)."""

from __future__ import annotations

from rq.job import Job

from receiver.cli import QUEUES
from rules.registry import RuleRegistry
from tests.support.pipeline import crash_alert, fast_rules
from workers.runner.worker import build_worker
from workers.settings import Settings
from workers.spine import lifecycle, queues
from workers.spine.context import Context, install
from workers.spine.intake import ingest


def test_an_approved_action_runs_before_the_queued_storm(redis_conn, redis_server, tmp_path) -> None:
    rules = fast_rules(tmp_path / "rules")
    settings = Settings.model_validate(
        {
            "redis": {"url": redis_server.url},
            "rules": {"dir": str(rules)},
            "prometheus": {"url": "http://127.0.0.1:9"},
        }
    )
    context = Context(settings=settings, redis=redis_conn, rules=RuleRegistry(rules))
    for index in range(40):  # one request per alert: forty investigation jobs waiting
        assert ingest(context, [crash_alert(f"web-{index}-5d8c7b9f4-abcde")]).enqueued == 1
    proposal = lifecycle.new_proposal(
        context,
        id="p-priority",
        rule="pod-crashloop",
        playbook="pod-failure",
        alert={},
        target={"kind": "Pod", "namespace": "shop", "name": "web-0"},
        action={"type": "restart-pod", "params": {}, "plan": None},
        record_id="r-priority",
    )
    context.records.open("r-priority", {"rule": "pod-crashloop"})
    context.proposals.create(proposal)
    lifecycle.approve(context, "p-priority", "alice", "go")
    alerts = queues.queue(queues.ALERTS, redis_conn)
    assert alerts.count == 40

    install(context)
    worker = build_worker(context, list(QUEUES))
    worker.work(burst=True, max_jobs=1, logging_level="WARNING")

    execution = Job.fetch("execute-p-priority", connection=redis_conn)
    assert execution.get_status(refresh=True) in {"finished", "failed"}  # taken first, however it ended
    assert alerts.count == 40  # not one investigation went before it
    assert QUEUES == queues.ALL
