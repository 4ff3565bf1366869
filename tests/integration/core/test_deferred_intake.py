"""``alerts.intake: deferred``: the webhook appends the payload in one round trip and a drain job on a real
RQ worker does the intake, with the same dedup and exactly-once as ``inline`` (real Redis)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
import redis
from rq import Queue

from receiver.app import create_app
from receiver.cli import QUEUES
from rules.registry import RuleRegistry
from tests.support.receiver_api import alert, auth, token_book, webhook
from tests.support.servers import RedisServer
from workers.runner.worker import build_worker
from workers.settings import DEFAULT_RULES_DIR, Settings
from workers.spine import counters, inbox, intake, queues
from workers.spine.context import Context, install

INVESTIGATE = "workers.spine.investigation.investigate_job"
DRAIN = "workers.spine.inbox.drain_job"
FAN_OUT = "workers.spine.intake.fan_out_job"


@pytest.fixture
def settings(redis_server) -> Settings:
    return Settings.model_validate({"redis": {"url": redis_server.url}, "alerts": {"intake": "deferred"}})


def post(client, body):
    return client.post(
        "/webhooks/alertmanager",
        data=json.dumps(body),
        headers=auth("webhook"),
        content_type="application/json",
    )


def alerts_queue(connection) -> Queue:
    return queues.queue(queues.ALERTS, connection)


def names(connection) -> list[str]:
    return [job.func_name for job in alerts_queue(connection).get_jobs()]


def investigated_pods(connection) -> list[str]:
    """The pods whose investigation is queued: on its own, or in a fan-out job (what its claim found new)."""
    pods = []
    for job in alerts_queue(connection).get_jobs():
        if job.func_name == INVESTIGATE:
            pods.append(job.args[0]["labels"]["pod"])
        elif job.func_name == FAN_OUT:
            new = intake.claimed(connection, job.args[1]) if job.args[1] else None
            pods += [
                item["args"][0]["labels"]["pod"]
                for item in job.args[0]
                if item["kind"] == "investigate" and (new is None or item["alert"] in new)
            ]
    return sorted(pods)


def drain_with_a_worker(context: Context) -> None:
    """The product's worker, one job: the drain job (the fan-out jobs it queues stay queued)."""
    install(context)
    build_worker(context, list(QUEUES)).work(burst=True, max_jobs=1, logging_level="WARNING")


def command_calls(connection) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in connection.info("commandstats").items()}


def test_the_webhook_appends_in_one_round_trip_and_answers_what_it_received(client, redis_conn) -> None:
    first = post(client, webhook(alert(pod="a-1"), alert(pod="b-1")))
    assert first.status_code == 202
    assert first.get_json() == {"received": 2, "deferred": True}
    assert redis_conn.llen(inbox.INBOX) == 1
    assert names(redis_conn) == [DRAIN]  # nothing else until a worker drains
    for queued_drainer in (True, False):
        if not queued_drainer:  # the drainer ended: the next push enqueues one, in the same round trip
            alerts_queue(redis_conn).empty()
            redis_conn.delete(inbox.DRAINER)
        before = command_calls(redis_conn)
        assert post(client, webhook(alert(pod="c-1"))).status_code == 202
        after = command_calls(redis_conn)
        sent = {name for name in after if after[name] != before.get(name, 0)}
        inside = {
            "cmdstat_rpush",
            "cmdstat_exists",
            "cmdstat_lrange",
            "cmdstat_incr",
            "cmdstat_set",
            "cmdstat_sadd",
        }
        inside |= {"cmdstat_hset", "cmdstat_lpush"}  # the script's own calls count under their names
        assert sent - inside - {"cmdstat_info"} == {"cmdstat_evalsha"}
        assert after["cmdstat_evalsha"] - before["cmdstat_evalsha"] == 1
        assert after["cmdstat_info"] - before["cmdstat_info"] == 1  # this test's own INFO only
    assert names(redis_conn) == [DRAIN]
    assert redis_conn.llen(inbox.INBOX) == 3
    # The stored template (RQ's enqueue commands) expired: that push takes a second call, which renews it.
    alerts_queue(redis_conn).empty()
    redis_conn.delete(inbox.DRAINER, inbox.TEMPLATE)
    before = command_calls(redis_conn)
    assert post(client, webhook(alert(pod="d-1"))).status_code == 202
    assert command_calls(redis_conn)["cmdstat_evalsha"] - before["cmdstat_evalsha"] == 2
    assert names(redis_conn) == [DRAIN] and 0 < redis_conn.ttl(inbox.TEMPLATE) <= inbox.TEMPLATE_TTL_S
    assert redis_conn.llen(inbox.INBOX) == 4


def test_a_worker_drains_the_inbox_into_the_same_jobs_as_inline(client, context, redis_conn) -> None:
    post(client, webhook(alert(pod="a-1"), alert(pod="b-1"), alert(alertname="SomethingElse", pod="x")))
    post(client, webhook(alert(pod="c-1")))
    assert names(redis_conn) == [DRAIN]  # the second push found the drainer queued
    drain_with_a_worker(context)
    assert redis_conn.llen(inbox.INBOX) == 0 and redis_conn.llen(inbox.PROCESSING) == 0
    assert not redis_conn.exists(inbox.DRAINER)  # released: the next push starts a new drainer
    # Both payloads went through intake together: one fan-out job, three investigations.
    assert names(redis_conn) == [FAN_OUT]
    assert investigated_pods(redis_conn) == ["a-1", "b-1", "c-1"]
    totals = counters.read_all(redis_conn)
    assert totals[("alerts_received_total", ())] == 4
    assert totals[("alerts_unmatched_total", ())] == 1
    received_at = alerts_queue(redis_conn).get_jobs()[0].args[0][0]["args"][0]["receivedAt"]
    assert (
        abs((datetime.now(UTC) - datetime.fromisoformat(received_at.replace("Z", "+00:00"))).total_seconds())
        < 60
    )


def test_a_resend_drained_later_is_a_duplicate(client, context, redis_conn) -> None:
    post(client, webhook(alert(pod="a-1")))
    drain_with_a_worker(context)
    assert investigated_pods(redis_conn) == ["a-1"]
    post(client, webhook(alert(pod="a-1")))
    assert names(redis_conn)[0] == DRAIN  # a new drainer, ahead of the queued investigation
    drain_with_a_worker(context)
    assert investigated_pods(redis_conn) == ["a-1"]
    assert counters.read_all(redis_conn)[("alerts_duplicate_total", ())] == 1


def test_racing_replicas_still_make_one_investigation(context, redis_conn) -> None:
    barrier = threading.Barrier(8)
    answers: list[int] = []

    def send() -> None:
        replica = create_app(context, token_book()).test_client()
        barrier.wait()
        answers.append(post(replica, webhook(alert(pod="a-1"))).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [202] * 8
    assert names(redis_conn) == [DRAIN]  # one drainer for eight pushes
    drain_with_a_worker(context)
    assert investigated_pods(redis_conn) == ["a-1"]
    assert counters.read_all(redis_conn)[("alerts_duplicate_total", ())] == 7


def test_a_dead_drainers_entry_is_ingested_once_after_a_kick(client, context, redis_conn) -> None:
    post(client, webhook(alert(pod="a-1")))
    post(client, webhook(alert(pod="b-1")))
    # A drainer took the first entry, ingested it and died before removing it; its job and marker are gone.
    redis_conn.lmove(inbox.INBOX, inbox.PROCESSING, "LEFT", "RIGHT")
    from workers.spine.intake import ingest

    _, taken, _ = inbox.read_entry(redis_conn.lindex(inbox.PROCESSING, 0))
    assert ingest(context, taken).enqueued == 1
    alerts_queue(redis_conn).empty()
    redis_conn.delete(inbox.DRAINER)
    assert inbox.backlog(redis_conn) == 2
    intake = client.get("/readyz").get_json()["checks"]["intake"]
    assert (intake["backlog"], intake["draining"]) == (2, False) and "no drain job" in intake["detail"]

    assert inbox.kick(redis_conn) is True
    assert inbox.kick(redis_conn) is False  # one drainer at a time
    drain_with_a_worker(context)
    assert inbox.backlog(redis_conn) == 0
    assert investigated_pods(redis_conn) == ["b-1"]  # a-1 was already queued before the crash
    assert counters.read_all(redis_conn)[("alerts_duplicate_total", ())] == 1
    assert inbox.kick(redis_conn) is False  # nothing waits


def test_an_unreadable_entry_is_kept_aside_and_the_rest_drained(client, context, redis_conn) -> None:
    redis_conn.rpush(inbox.INBOX, b"not an intake entry")
    post(client, webhook(alert(pod="a-1")))
    drain_with_a_worker(context)
    assert redis_conn.lrange(inbox.REJECTED, 0, -1) == [b"not an intake entry"]
    assert investigated_pods(redis_conn) == ["a-1"]
    assert "aiops_intake_rejected 1.0" in client.get("/metrics").get_data(as_text=True)
    intake = client.get("/readyz").get_json()["checks"]["intake"]
    assert intake["rejected"] == 1 and "aiops:intake:rejected" in intake["detail"]
    assert intake["ok"] is True  # a warning for a person; the replica still serves


def test_a_drain_slice_hands_over_to_a_new_job_at_the_front(client, context, redis_conn) -> None:
    for pod in ("a-1", "b-1", "c-1"):
        post(client, webhook(alert(pod=pod)))
    alerts_queue(redis_conn).empty()  # the first push's drainer: this test drains by hand
    done, total = inbox.drain(context, slice_s=0, take=1)
    assert (done, total.enqueued) == (1, 1)
    assert redis_conn.llen(inbox.INBOX) == 2
    successor = alerts_queue(redis_conn).get_jobs()[0]
    assert successor.func_name == DRAIN and redis_conn.get(inbox.DRAINER) == successor.id.encode()
    assert "aiops_intake_backlog 2.0" in client.get("/metrics").get_data(as_text=True)
    drain_with_a_worker(context)
    assert inbox.backlog(redis_conn) == 0
    assert investigated_pods(redis_conn) == ["a-1", "b-1", "c-1"]


def test_the_cron_schedules_the_kick(context, settings) -> None:
    from workers.runner.cron import build_scheduler

    scheduler = build_scheduler(context, settings)
    assert "intake-kick" in {job.name for job in scheduler.get_jobs()}


def test_with_redis_down_the_webhook_answers_503_and_the_retry_is_drained(tmp_path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    try:
        connection = redis.Redis.from_url(server.url, socket_connect_timeout=1, socket_timeout=2)
        settings = Settings.model_validate({"redis": {"url": server.url}, "alerts": {"intake": "deferred"}})
        context = Context(settings=settings, redis=connection, rules=RuleRegistry(DEFAULT_RULES_DIR))
        client = create_app(context, token_book()).test_client()
        server.stop()
        down = post(client, webhook(alert(pod="during-1")))
        assert down.status_code == 503 and down.get_json()["error"] == "unavailable"
        server.start()
        assert post(client, webhook(alert(pod="during-1"))).status_code == 202
        drain_with_a_worker(context)
        assert investigated_pods(connection) == ["during-1"]
    finally:
        server.stop()


def test_too_few_replicas_is_503_with_the_payload_kept_for_the_retry(redis_server, redis_conn) -> None:
    settings = Settings.model_validate(
        {
            "redis": {"url": redis_server.url, "min_replicas_ack": 1, "replica_ack_timeout_ms": 50},
            "alerts": {"intake": "deferred"},
        }
    )
    context = Context(settings=settings, redis=redis_conn, rules=RuleRegistry(DEFAULT_RULES_DIR))
    response = post(create_app(context, token_book()).test_client(), webhook(alert(pod="a-1")))
    assert response.status_code == 503  # no replica here: the promise cannot be kept
    # The primary holds it; Alertmanager's retry and this entry are one investigation (the claim dedups).
    assert redis_conn.llen(inbox.INBOX) == 1


def test_an_entry_that_breaks_intake_is_found_among_its_batch_and_kept_aside(
    client, context, redis_conn
) -> None:
    post(client, webhook(alert(pod="a-1")))
    # Readable, but no receiver would have let it in: a fingerprint that is not a string breaks the claim.
    broken = {"status": "firing", "labels": {"alertname": "X"}, "startsAt": "t", "fingerprint": 5}
    poison = inbox.entry(json.dumps({"alerts": [broken]}).encode(), "2026-11-25T10:00:01Z")
    redis_conn.rpush(inbox.INBOX, poison)
    post(client, webhook(alert(pod="b-1")))
    drain_with_a_worker(context)
    assert redis_conn.lrange(inbox.REJECTED, 0, -1) == [poison]
    assert investigated_pods(redis_conn) == ["a-1", "b-1"]
    assert inbox.backlog(redis_conn) == 0
