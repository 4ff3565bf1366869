"""Diagnosis, Citation and ProposedAction survive a JSON round trip."""

from __future__ import annotations

import json

from workers.workflows.pod_failure.model import Citation, Diagnosis, ProposedAction


def test_diagnosis_round_trips_through_json() -> None:
    diagnosis = Diagnosis(
        category="oom_killed",
        summary="s",
        root_cause="r",
        confidence=0.9,
        container="app",
        citations=[
            Citation(
                "pod.status.containerStatuses[app].lastState.terminated", "reason=OOMKilled exitCode=137"
            )
        ],
        started_with_revision=True,
        revision={"current": 2, "previous": 1, "changes": ["image"]},
        alternatives=[{"category": "probe_failure", "score": 0.35, "container": "app"}],
        decided_by={
            "signal": "oom-reason",
            "source": "pod.status",
            "text": "reason=OOMKilled",
            "level": None,
        },
        discounted=[{"signal": "probe-sigkill", "category": "probe_failure", "why": "w", "rule": "generic"}],
    )
    data = json.loads(json.dumps(diagnosis.to_dict()))
    assert Diagnosis.from_dict(data) == diagnosis
    assert data["citations"] == [
        {
            "source": "pod.status.containerStatuses[app].lastState.terminated",
            "text": "reason=OOMKilled exitCode=137",
        }
    ]


def test_diagnosis_from_a_minimal_dict_defaults_the_rest() -> None:
    diagnosis = Diagnosis.from_dict({"category": "unknown"})
    assert diagnosis.citations == []
    assert diagnosis.confidence == 0.0
    assert diagnosis.started_with_revision is False
    assert diagnosis.decided_by is None and diagnosis.discounted == []


def test_proposed_action_round_trips_through_json() -> None:
    action = ProposedAction(
        type="raise-memory-limit",
        params={"container": "app", "memory_limit": "384Mi", "memory_request": "384Mi"},
        risk="low",
        expected_outcome="o",
        validation_plan="v",
        runbook="docs/runbooks/oomkilled.md",
        reasoning="peak x 1.3",
        steps=["kubectl describe"],
    )
    assert ProposedAction.from_dict(json.loads(json.dumps(action.to_dict()))) == action


def test_to_dict_copies_mutable_fields() -> None:
    action = ProposedAction(type="none", params={}, risk="low", expected_outcome="", validation_plan="")
    data = action.to_dict()
    data["params"]["x"] = 1
    assert action.params == {}
