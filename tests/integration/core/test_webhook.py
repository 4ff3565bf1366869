"""POST /webhooks/alertmanager against a real Redis: the contract's answers, dedup and durable queueing."""

from __future__ import annotations

import json
import threading

import pytest
from rq import Queue

from tests.support.receiver_api import alert, auth, webhook


def post(client, body, role="webhook", **kwargs):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    headers = {**auth(role), **kwargs.pop("headers", {})}
    return client.post(
        "/webhooks/alertmanager",
        data=data,
        headers=headers,
        content_type=kwargs.pop("content_type", "application/json"),
        **kwargs,
    )


def queued(redis_conn, name="alerts"):
    return Queue(name, connection=redis_conn).get_jobs()


def test_firing_alert_is_queued_once(client, redis_conn) -> None:
    response = post(client, webhook(alert()))
    assert response.status_code == 202
    assert response.get_json() == {"received": 1, "enqueued": 1, "duplicates": 0, "unmatched": 0}
    jobs = queued(redis_conn)
    assert [job.func_name for job in jobs] == ["workers.spine.investigation.investigate_job"]
    sent_alert, rule = jobs[0].args
    assert rule == "pod-crashloop" and sent_alert["labels"]["pod"] == "checkout-7d9f-abcde"
    again = post(client, webhook(alert()))
    assert again.get_json() == {"received": 1, "enqueued": 0, "duplicates": 1, "unmatched": 0}
    assert len(queued(redis_conn)) == 1


def test_same_alert_twice_in_one_payload_and_unmatched(client, redis_conn) -> None:
    body = webhook(alert(), alert(), alert(alertname="SomethingElse", pod="x"))
    assert post(client, body).get_json() == {"received": 3, "enqueued": 1, "duplicates": 1, "unmatched": 1}


def test_a_new_episode_after_resolution_is_a_new_incident(client, redis_conn) -> None:
    post(client, webhook(alert()))
    # Still failing, re-fired with a new startsAt within the incident window: the same incident.
    assert post(client, webhook(alert(starts="2026-11-25T10:30:00Z"))).get_json()["duplicates"] == 1
    post(client, webhook(alert(status="resolved")))
    response = post(client, webhook(alert(starts="2026-11-25T12:00:00Z")))
    assert response.get_json()["enqueued"] == 1


def test_watch_and_alertmanager_alerts_for_one_pod_are_one_incident(client, context, redis_conn) -> None:
    from workers.spine.intake import ingest

    watched = alert(fingerprint="watch-shop-checkout-app", starts="2026-11-25T09:45:10Z")
    watched["source"] = "watch"
    watched["receivedAt"] = "2026-11-25T09:45:11Z"
    watched["endsAt"] = None
    assert ingest(context, [watched]).enqueued == 1
    # Alertmanager's alert for the same pod and container arrives 15 minutes later.
    response = post(client, webhook(alert()))
    assert response.get_json() == {"received": 1, "enqueued": 0, "duplicates": 1, "unmatched": 0}
    # Another container of the same pod is another incident.
    other = alert(fingerprint="fp-other")
    other["labels"] = {**other["labels"], "container": "sidecar"}
    assert post(client, webhook(other)).get_json()["enqueued"] == 1
    assert len(queued(redis_conn)) == 2


def test_racing_replicas_make_one_job(client, context, redis_server) -> None:
    from receiver.app import create_app
    from tests.support.receiver_api import token_book

    results = []
    barrier = threading.Barrier(8)

    def send() -> None:
        replica = create_app(context, token_book()).test_client()
        barrier.wait()
        results.append(post(replica, webhook(alert())).get_json()["enqueued"])

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0] * 7 + [1]
    assert len(queued(context.redis)) == 1


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("approver", 403)])
def test_only_webhook_tokens_may_post(client, role, status) -> None:
    response = post(client, webhook(alert()), role=role)
    assert response.status_code == status and response.get_json()["error"] == "forbidden"


def test_unknown_token_is_401(client) -> None:
    response = client.post(
        "/webhooks/alertmanager",
        json=webhook(alert()),
        headers={"Authorization": "Bearer not-a-real-token-at-all"},
    )
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post("/webhooks/alertmanager", json=webhook(alert())).status_code == 401


def test_wrong_content_type_is_415(client, redis_conn) -> None:
    response = post(client, json.dumps(webhook(alert())), content_type="text/plain")
    assert response.status_code == 415 and response.get_json()["error"] == "unsupported_media_type"
    assert queued(redis_conn) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", None),
        ({"version": "4"}, "alerts"),
        ({"version": "4", "alerts": [{"status": "firing"}]}, "alerts[0].labels"),
        (
            {"version": "4", "alerts": [{**alert(), "labels": {"alertname": ["list"]}}]},
            "alerts[0].labels.alertname",
        ),
        ({"version": 4, "alerts": []}, "version"),
    ],
)
def test_bad_payloads_are_400_and_name_the_field(client, redis_conn, body, field) -> None:
    response = post(client, body)
    assert response.status_code == 400
    payload = response.get_json()
    assert payload["error"] == "invalid_payload"
    if field:
        assert payload["field"] == field and payload["detail"].startswith(field)
    assert queued(redis_conn) == []


def test_two_mebibyte_body_is_413(client, redis_conn) -> None:
    body = webhook(alert())
    body["commonAnnotations"] = {"padding": "x" * (2 * 1024 * 1024)}
    response = post(client, body)
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"
    assert queued(redis_conn) == []


def test_resolved_alert_queues_supersede_only_when_proposals_exist(client, context, redis_conn) -> None:
    resolved = alert(status="resolved")
    assert post(client, webhook(resolved)).get_json()["unmatched"] == 1
    context.redis.sadd("aiops:proposals:by-alert:" + resolved["fingerprint"], "p-1")
    response = post(client, webhook({**resolved, "startsAt": "2026-11-25T09:00:00Z"}))
    assert response.get_json()["enqueued"] == 1
    assert [job.func_name for job in queued(redis_conn)] == ["workers.spine.lifecycle.alert_resolved_job"]


def test_counters_reach_metrics(client) -> None:
    post(client, webhook(alert(), alert(alertname="Nope", pod="y")))
    post(client, webhook(alert()))
    text = client.get("/metrics").get_data(as_text=True)
    assert "aiops_alerts_received_total 3.0" in text
    assert "aiops_alerts_duplicate_total 1.0" in text
    assert "aiops_alerts_unmatched_total 1.0" in text
    assert 'aiops_jobs_enqueued_total{queue="alerts"} 1.0' in text
    assert "aiops_webhook_latency_seconds_count 2.0" in text
    assert 'aiops_proposals{state="pending"} 0.0' in text


def test_health_and_openapi(client) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    from workers.settings import DEFAULT_RULES_DIR

    library = len(list(DEFAULT_RULES_DIR.glob("*.yaml")))
    assert ready.status_code == 200 and ready.get_json()["checks"]["rules"]["loaded"] == library >= 6
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert {"/webhooks/alertmanager", "/api/v1/approvals/{id}/approve", "/api/v1/records/{id}"} <= set(
        document["paths"]
    )


def test_several_new_alerts_go_as_one_fan_out_job(client, context, redis_conn) -> None:
    from rq import SimpleWorker

    from workers.spine import queues as queue_names
    from workers.spine.context import install

    response = post(client, webhook(alert(pod="a-1"), alert(pod="b-1"), alert(pod="c-1")))
    assert response.get_json()["enqueued"] == 3
    jobs = queued(redis_conn)
    assert [job.func_name for job in jobs] == ["workers.spine.intake.fan_out_job"]
    batch = jobs[0].args[0]
    assert sorted(item["args"][0]["labels"]["pod"] for item in batch) == ["a-1", "b-1", "c-1"]

    install(context)
    queue = queue_names.queue(queue_names.ALERTS, redis_conn)
    from workers.spine.intake import fan_out

    assert fan_out(redis_conn, batch) == 3  # run by hand first: the job's own run must not double them
    SimpleWorker([queue], connection=redis_conn).work(burst=True, max_jobs=1, logging_level="WARNING")
    investigations = [
        job for job in queued(redis_conn) if job.func_name == "workers.spine.investigation.investigate_job"
    ]
    assert sorted(job.args[0]["labels"]["pod"] for job in investigations) == ["a-1", "b-1", "c-1"]


def _client_commands(redis_conn) -> dict[str, int]:
    """Calls per command as Redis counts them (a script's own calls are counted under their names)."""
    return {name: stats["calls"] for name, stats in redis_conn.info("commandstats").items()}


def test_a_new_alert_payload_is_one_redis_round_trip(client, redis_conn) -> None:
    post(client, webhook(alert(pod="warm-1")))  # loads the script once
    before = _client_commands(redis_conn)
    response = post(client, webhook(*(alert(pod=f"new-{i}") for i in range(50))))
    after = _client_commands(redis_conn)
    assert response.get_json() == {"received": 50, "enqueued": 50, "duplicates": 0, "unmatched": 0}
    grown = {name for name in after if after[name] != before.get(name, 0)}
    sent = grown - {"cmdstat_exists", "cmdstat_set", "cmdstat_del", "cmdstat_hincrby", "cmdstat_hset"}
    sent -= {"cmdstat_sadd", "cmdstat_rpush", "cmdstat_lpush", "cmdstat_info"}  # what the script calls inside
    assert sent == {"cmdstat_evalsha"}
    assert after["cmdstat_evalsha"] - before.get("cmdstat_evalsha", 0) == 1
    # Our own INFO before is the only one: RQ's server-version probe is not paid per request.
    assert after["cmdstat_info"] - before["cmdstat_info"] == 1


def test_a_resend_whose_markers_are_gone_is_queued_again_despite_the_memory(client, redis_conn) -> None:
    """The receiver remembers what it claimed only to try the cheap probe first; Redis decides."""
    assert post(client, webhook(alert(pod="a-1"), alert(pod="b-1"))).get_json()["enqueued"] == 2
    for key in redis_conn.scan_iter("aiops:dedup:*"):
        redis_conn.delete(key)  # the dedup window passed (or another Redis after a loss)
    for key in redis_conn.scan_iter("aiops:incident:*"):
        redis_conn.delete(key)
    before = _client_commands(redis_conn)
    response = post(client, webhook(alert(pod="a-1"), alert(pod="b-1")))
    after = _client_commands(redis_conn)
    assert response.get_json() == {"received": 2, "enqueued": 2, "duplicates": 0, "unmatched": 0}
    assert after["cmdstat_evalsha"] - before["cmdstat_evalsha"] == 2  # the probe, then the claim
    assert after.get("cmdstat_hset", 0) > before.get("cmdstat_hset", 0)  # the job was written


def test_all_duplicate_payload_takes_the_fast_path_and_still_counts(client, redis_conn) -> None:
    post(client, webhook(alert(pod="a-1"), alert(pod="b-1")))
    before = _client_commands(redis_conn)
    response = post(client, webhook(alert(pod="a-1"), alert(pod="b-1")))
    after = _client_commands(redis_conn)
    assert response.get_json() == {"received": 2, "enqueued": 0, "duplicates": 2, "unmatched": 0}
    assert after["cmdstat_evalsha"] - before["cmdstat_evalsha"] == 1  # one round trip
    assert after.get("cmdstat_hset", 0) == before.get("cmdstat_hset", 0)  # no job written
    text = client.get("/metrics").get_data(as_text=True)
    assert "aiops_alerts_received_total 4.0" in text and "aiops_alerts_duplicate_total 2.0" in text


def test_a_multi_alert_payloads_fan_out_goes_ahead_of_queued_investigations(client, redis_conn) -> None:
    post(client, webhook(alert(pod="early-1")))  # a storm's investigation, already waiting
    post(client, webhook(alert(pod="a-1"), alert(pod="b-1")))
    names = [job.func_name for job in queued(redis_conn)]
    assert names == ["workers.spine.intake.fan_out_job", "workers.spine.investigation.investigate_job"]
