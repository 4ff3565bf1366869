"""End to end from the watch source: crash-looping pods seen by the watch are investigated by the in-process
worker and end as one pending proposal for their workload with the scenario's diagnosis, before any
Alertmanager alert."""

from __future__ import annotations

import yaml

from tests.support.watching import CRASHING, SCENARIOS


def test_watch_to_pending_proposal(watching, scrape_slot) -> None:
    expect = yaml.safe_load((SCENARIOS / "demo-crashloop" / "scenario.yaml").read_text())["expect"]
    w = watching("demo-crashloop", slot=scrape_slot)  # a real Prometheus scrapes the sandbox's exporter
    pipeline = w.pipeline
    # Both pods are one workload's: one incident, one proposal for the Deployment, both pods in its record.
    pipeline.work(
        until=lambda: (
            pipeline.proposals("pending")
            and "sibling_alert" in pipeline.context.records.kinds(pipeline.proposals("pending")[0].record_id)
        )
    )
    (proposal,) = pipeline.proposals("pending")
    assert proposal.target == {"kind": "Deployment", "namespace": "shop", "name": "checkout"}
    assert proposal.rule == "pod-crashloop"
    assert proposal.alert["source"] == "watch"
    assert proposal.alert["labels"]["alertname"] == "KubePodCrashLooping"
    assert proposal.diagnosis["category"] == expect["category"]
    assert proposal.action["type"] == expect["action"]
    assert proposal.action["params"]["to_revision"] == expect["params"]["to_revision"]
    record = pipeline.context.records.get(proposal.record_id)
    (sibling,) = [e["data"] for e in record["entries"] if e["kind"] == "sibling_alert"]
    assert {proposal.diagnosis["subject"]["name"], sibling["pod"]["name"]} == set(CRASHING)
    assert sibling["alert"]["source"] == "watch"
    # The Alertmanager alert that follows minutes later changes nothing.
    result = pipeline.post_alerts(
        *({"status": "firing", "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop",
                                          "pod": pod, "container": "app", "severity": "warning"},
           "startsAt": "2026-11-25T10:15:00Z"} for pod in CRASHING)
    )  # fmt: skip
    assert (result["enqueued"], result["duplicates"]) == (0, 2)
    pipeline.work()
    assert [p.id for p in pipeline.proposals()] == [proposal.id]
