"""Outcomes people can find: on the sandbox cluster, an alert for a pod that does not exist ends as a
``target_gone`` record listed by GET /api/v1/records, beside the record of a real proposal, which follows
the proposal through approval."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.pipeline import auth, build_pipeline, crash_alert, fast_rules, stop_pipeline

SCENARIOS = Path(__file__).resolve().parents[3] / "sandbox" / "scenarios"


@pytest.fixture
def offline_pipeline(redis_conn, redis_server, tmp_path):
    """The demo scenario without Prometheus (its queries fail fast and are recorded)."""
    built = build_pipeline(
        SCENARIOS / "demo-crashloop", redis_conn, redis_server.url, tmp_path, fast_rules(tmp_path / "rules")
    )
    yield built
    stop_pipeline(built)


def listed(client, query: str) -> list[dict]:
    response = client.get(f"/api/v1/records{query}", headers=auth("viewer"))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_an_alert_for_a_missing_pod_is_a_listed_target_gone_record(offline_pipeline) -> None:
    pipeline = offline_pipeline
    pod = next(
        p["metadata"]["name"]
        for p in pipeline.cluster.list("Pod", "shop")
        if p["metadata"]["name"].startswith("checkout-")
    )
    assert pipeline.post_alerts(crash_alert("checkout-gone-00000"), crash_alert(pod))["enqueued"] == 2
    pipeline.work(
        until=lambda: pipeline.proposals("pending") and listed(pipeline.client, "?status=target_gone")
    )

    (gone,) = listed(pipeline.client, "?status=target_gone&since=1h")
    assert gone["rule"] == "pod-crashloop" and gone["alertname"] == "KubePodCrashLooping"
    assert gone["target"] == {"kind": "Pod", "namespace": "shop", "name": "checkout-gone-00000"}
    assert gone["last_kind"] == "target_gone" and gone["proposal_id"] is None
    record = pipeline.client.get(f"/api/v1/records/{gone['id']}", headers=auth("viewer")).get_json()
    assert record["status"] == "target_gone"
    assert "pod shop/checkout-gone-00000 not found" in str(record["entries"][-1]["data"])

    (proposal,) = pipeline.proposals("pending")
    (proposed,) = listed(pipeline.client, "?status=proposed&rule=pod-crashloop")
    assert proposed["id"] == proposal.record_id and proposed["proposal_id"] == proposal.id
    assert {item["id"] for item in listed(pipeline.client, "")} == {gone["id"], proposal.record_id}

    approved = pipeline.client.post(f"/api/v1/approvals/{proposal.id}/approve", headers=auth("approver"))
    assert approved.status_code == 200
    assert [item["id"] for item in listed(pipeline.client, "?status=approved")] == [proposal.record_id]
    assert listed(pipeline.client, "?status=proposed") == []
