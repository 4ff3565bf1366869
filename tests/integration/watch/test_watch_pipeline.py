"""End to end from the watch source: a crash-looping pod seen by the watch is investigated by the in-process
worker and ends as a pending proposal with the scenario's diagnosis, before any Alertmanager alert."""

from __future__ import annotations

import yaml

from tests.support.watching import CRASHING, SCENARIOS


def test_watch_to_pending_proposal(watching, scrape_slot) -> None:
    expect = yaml.safe_load((SCENARIOS / "demo-crashloop" / "scenario.yaml").read_text())["expect"]
    w = watching("demo-crashloop", slot=scrape_slot)  # a real Prometheus scrapes the sandbox's exporter
    pipeline = w.pipeline
    pipeline.work(until=lambda: len(pipeline.proposals("pending")) == len(CRASHING))
    proposals = pipeline.proposals("pending")
    assert sorted(p.target["name"] for p in proposals) == sorted(CRASHING)
    for proposal in proposals:
        assert proposal.rule == "pod-crashloop"
        assert proposal.alert["source"] == "watch"
        assert proposal.alert["labels"]["alertname"] == "KubePodCrashLooping"
        assert proposal.diagnosis["category"] == expect["category"]
        assert proposal.action["type"] == expect["action"]
        assert proposal.action["params"]["to_revision"] == expect["params"]["to_revision"]
    # The Alertmanager alert that follows minutes later changes nothing.
    result = pipeline.post_alerts(
        *({"status": "firing", "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop",
                                          "pod": pod, "container": "app", "severity": "warning"},
           "startsAt": "2026-11-25T10:15:00Z"} for pod in CRASHING)
    )  # fmt: skip
    assert (result["enqueued"], result["duplicates"]) == (0, 2)
    pipeline.work()
    assert len(pipeline.proposals()) == len(CRASHING)
