"""The params a proposal carries are the ones the allowlisted actions plan from (no cluster writes).

For every scenario whose expected action is a change, the proposal's params go through the action's
``plan()`` against the scenario's own objects, and the planned patch must be the proposed change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rules.allowlist import ACTIONS as ALLOWED
from tests.support.scenario_evidence import (
    SCENARIOS_DIR,
    Scenario,
    build_evidence,
    load_scenario,
    scenario_dirs,
)
from workers.workflows.pod_failure.actions import ACTIONS
from workers.workflows.pod_failure.playbook import PodFailurePlaybook


class FileKube:
    """The read calls that actions make, answered from a scenario's manifests."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    def _get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        found = self.scenario.get(kind, namespace, name)
        assert found is not None, f"{kind} {namespace}/{name}"
        return found

    def get_pod(self, namespace: str, name: str) -> dict[str, Any]:
        return self._get("Pod", namespace, name)

    def get_deployment(self, namespace: str, name: str) -> dict[str, Any]:
        return self._get("Deployment", namespace, name)

    def list_replicasets(self, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        wanted = dict(part.split("=", 1) for part in (label_selector or "").split(",") if part)
        return [
            rs
            for rs in self.scenario.of_kind("ReplicaSet", namespace)
            if all(rs["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
        ]


CHANGING = [path for path in scenario_dirs() if load_scenario(path).spec["expect"]["action"] in ALLOWED]


@pytest.mark.parametrize("path", CHANGING, ids=[str(p.relative_to(SCENARIOS_DIR)) for p in CHANGING])
def test_the_action_plans_exactly_the_proposed_change(path: Path) -> None:
    scenario = load_scenario(path)
    evidence = build_evidence(scenario)
    playbook = PodFailurePlaybook()
    proposal = playbook.propose(playbook.diagnose(evidence), evidence, list(ALLOWED))
    plan = ACTIONS[proposal.type].plan(FileKube(scenario), evidence["target"], proposal.params, evidence)
    params = proposal.params
    if proposal.type == "restart-pod":
        assert (plan.verb, plan.kind, plan.name) == ("delete", "Pod", evidence["target"]["name"])
        return
    assert (plan.verb, plan.kind, plan.name) == ("patch", "Deployment", evidence["owner"]["deployment"])
    if proposal.type == "rollback-deployment":
        assert f"to revision {params['to_revision']}" in plan.summary
        return
    change = plan.patch["spec"]["template"]["spec"]["containers"][0]
    assert change["name"] == params["container"]
    if proposal.type == "raise-memory-limit":
        assert change["resources"] == {
            "limits": {"memory": params["memory_limit"]},
            "requests": {"memory": params["memory_request"]},
        }
    elif "startup_probe" in params:
        assert change["startupProbe"] == params["startup_probe"]
    else:
        assert change[params["probe"]] == {"initialDelaySeconds": params["initial_delay_seconds"]}
