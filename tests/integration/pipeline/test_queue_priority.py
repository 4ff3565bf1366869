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


def test_a_sibling_batch_hands_its_rest_back_when_an_action_waits(pipeline, redis_conn) -> None:
    from workers.spine.intake import siblings_job

    context = pipeline.context
    rule = "pod-crashloop"
    first, second, third = (
        crash_alert(pod) for pod in ("checkout-7d9f8b6c5-q8wzt", "checkout-7d9f8b6c5-x2k4p", "checkout-gone")
    )
    for alert in (first, second, third):
        alert["receivedAt"] = "2026-11-25T10:00:01Z"
    alerts = queues.queue(queues.ALERTS, redis_conn)
    alerts.enqueue("workers.spine.lifecycle.expire_job")  # a storm's queued work, behind what is handed back
    install(context)
    # An approved action is waiting: the batch investigates its first alert only.
    redis_conn.rpush(queues.queue(queues.ACTIONS, redis_conn).key, "execute-p-waiting")
    assert siblings_job([[first, rule], [second, rule], [third, rule]]) == 1
    handed = alerts.get_jobs()[0]
    assert handed.func_name == "workers.spine.intake.siblings_job"
    assert [alert["labels"]["pod"] for alert, _ in handed.args[0]] == [
        second["labels"]["pod"],
        "checkout-gone",
    ]
    # A retry of the same batch hands back the same rest once, not twice.
    assert siblings_job([[first, rule], [second, rule], [third, rule]]) == 1
    assert [job.func_name for job in alerts.get_jobs()].count("workers.spine.intake.siblings_job") == 1
    # With the action taken, the handed-back job does the rest.
    redis_conn.delete(queues.queue(queues.ACTIONS, redis_conn).key)
    assert siblings_job(handed.args[0]) == 2
