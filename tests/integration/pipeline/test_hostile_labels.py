"""Hostile label values: they reach PromQL only as escaped string literals, and a label that cannot
name a Kubernetes object stops the investigation with a clear, recorded error (no retries)."""

from __future__ import annotations

from rq import Queue

from tests.support.pipeline import crash_alert

HOSTILE = 'app"} or vector(1) #'


def test_label_injection_does_not_change_the_query(pipeline) -> None:
    pod = next(
        p["metadata"]["name"]
        for p in pipeline.cluster.list("Pod", "shop")
        if p["metadata"]["name"].startswith("checkout")
    )
    alert = crash_alert(pod, container=HOSTILE)
    pipeline.post_alerts(alert)
    pipeline.work(until=pipeline.proposals)
    record_id = pipeline.proposals()[0].record_id
    queries = {
        e["data"]["name"]: e["data"]
        for e in pipeline.context.records.get(record_id)["entries"]
        if e["kind"] == "evidence_query"
    }
    restarts = queries["restarts_1h"]
    assert 'container="app\\"} or vector(1) #"' in restarts["query"]
    assert "vector(1)" not in restarts["query"].replace('"app\\"} or vector(1) #"', "")
    # The escaped literal matches no series; the injected `or vector(1)` would have returned 1.
    assert restarts["value"] is None


def test_unrenderable_target_fails_once_with_a_clear_record(pipeline) -> None:
    alert = crash_alert("../../etc/passwd")
    result = pipeline.post_alerts(alert)
    assert result["enqueued"] == 1
    pipeline.work()
    assert pipeline.proposals() == []
    records = [
        key.decode().removeprefix("aiops:record:").removesuffix(":meta")
        for key in pipeline.context.redis.scan_iter("aiops:record:*:meta")
    ]
    entries = pipeline.context.records.get(records[0])["entries"]
    failed = [e for e in entries if e["kind"] == "investigation_failed"]
    assert len(failed) == 1 and failed[0]["data"]["retry"] is False
    assert "target" in failed[0]["data"]["error"]
    assert Queue("alerts", connection=pipeline.context.redis).failed_job_registry.count == 0
