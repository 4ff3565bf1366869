"""Which Deployment events start a gate: a changed pod template on an opted-in Deployment, nothing else."""

from __future__ import annotations

from typing import Any

from workers.sources.rollout_watch import RolloutTracker

LABEL = "aiops.dev/rollout-gate"


def deployment(image: str, labels: dict[str, str] | None = None, **annotations: str) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "shop", "name": "web", "labels": labels or {}, "annotations": annotations},
        "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
    }


def test_a_new_template_on_an_opted_in_deployment_starts_a_gate() -> None:
    tracker = RolloutTracker(LABEL)
    tracker.snapshot([deployment("web:1", {LABEL: "true"})])
    assert tracker.event("MODIFIED", deployment("web:1", {LABEL: "true"})) is None, "status only"
    assert tracker.event("MODIFIED", deployment("web:2", {LABEL: "true"})) == ("shop", "web")
    assert tracker.event("MODIFIED", deployment("web:2", {LABEL: "true"})) is None


def test_the_annotation_opts_in_too_and_other_deployments_are_left_alone() -> None:
    tracker = RolloutTracker(LABEL)
    tracker.snapshot([deployment("web:1")])
    assert tracker.event("MODIFIED", deployment("web:2")) is None
    assert tracker.event("MODIFIED", deployment("web:3", **{LABEL: "true"})) == ("shop", "web")
    assert tracker.event("MODIFIED", deployment("web:4", **{LABEL: "false"})) is None


def test_a_deployment_first_seen_by_an_event_starts_nothing() -> None:
    tracker = RolloutTracker(LABEL)
    assert tracker.event("ADDED", deployment("web:1", {LABEL: "true"})) is None
    tracker.event("DELETED", deployment("web:1", {LABEL: "true"}))
    assert tracker.templates == {}
