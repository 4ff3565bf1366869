"""Every scenario folder: valid Kubernetes objects, and the playbook reaches the scenario's ``expect``.

The evidence is built straight from the files (tests/support/scenario_evidence.py), so a failure here
is about the diagnosis or the scenario, never about the sandbox server or the evidence gathering.
"""

from __future__ import annotations

import functools
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from rules.allowlist import ACTIONS, NO_ACTION
from sandbox.scenario import check as check_scenario_yaml
from tests.support import scenario_evidence
from tests.support.scenario_evidence import (
    SCENARIOS_DIR,
    Scenario,
    build_evidence,
    manifest_files,
    scenario_dirs,
    target_pod,
)
from workers.workflows.pod_failure.playbook import PodFailurePlaybook
from workers.workflows.pod_failure.signals import CATEGORY_TITLES

SCENARIOS = scenario_dirs()
KUBERNETES_VERSION = "1.30"


@functools.cache
def load_scenario(path: Path) -> Scenario:
    """Parsed once per session: the tests below only read it."""
    return scenario_evidence.load_scenario(path)


def _ids(paths: list[Path]) -> list[str]:
    return [str(path.relative_to(SCENARIOS_DIR)) for path in paths]


def test_there_are_enough_scenarios_for_every_category() -> None:
    assert len(SCENARIOS) >= 12
    categories = {load_scenario(path).spec["expect"]["category"] for path in SCENARIOS}
    assert categories >= set(CATEGORY_TITLES)


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids(SCENARIOS))
def test_playbook_reaches_the_expected_diagnosis_and_proposal(path: Path) -> None:
    scenario = load_scenario(path)
    expect = scenario.spec["expect"]
    evidence = build_evidence(scenario)
    playbook = PodFailurePlaybook()
    diagnosis = playbook.diagnose(evidence)
    action = playbook.propose(diagnosis, evidence, list(ACTIONS))
    assert diagnosis.category == expect["category"], diagnosis.root_cause
    assert action.type == expect["action"], action.reasoning
    for key, value in (expect.get("params") or {}).items():
        assert action.params.get(key) == value, key
    assert diagnosis.container == expect["alert"]["container"]
    assert action.expected_outcome and action.validation_plan and action.runbook


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids(SCENARIOS))
def test_scenario_yaml_is_consistent(path: Path) -> None:
    scenario = load_scenario(path)
    spec = scenario.spec
    assert check_scenario_yaml(spec, str(path / "scenario.yaml")) == []
    assert spec["description"].strip()
    expect = spec["expect"]
    assert expect["action"] in {*ACTIONS, NO_ACTION}
    assert expect["validation"] == ("none" if expect["action"] == NO_ACTION else "validated")
    alert = expect["alert"]
    assert alert["alertname"] in {"KubePodCrashLooping", "KubeContainerWaiting", "KubePodOOMKilled"}
    pod = target_pod(scenario)
    assert (pod["metadata"]["namespace"], pod["metadata"]["name"]) == (alert["namespace"], alert["pod"])
    deployments = {
        f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in scenario.of_kind("Deployment")
    }
    assert {outcome["deployment"] for outcome in spec["outcomes"]} <= deployments


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids(SCENARIOS))
def test_logs_belong_to_containers_of_the_scenario(path: Path) -> None:
    scenario = load_scenario(path)
    containers = {
        (pod["metadata"]["namespace"], pod["metadata"]["name"], c["name"])
        for pod in scenario.of_kind("Pod")
        for c in [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]
    }
    for log in (path / "logs").rglob("*.log") if (path / "logs").exists() else []:
        namespace, pod, file = log.relative_to(path / "logs").parts
        assert (namespace, pod, file.split(".")[0]) in containers, log
        assert log.read_text(encoding="utf-8").endswith("\n")


def test_a_scenario_log_plants_a_secret_for_the_redaction_check() -> None:
    planted = [
        log
        for path in SCENARIOS
        for log in path.rglob("*.previous.log")
        if "password=hunter2" in log.read_text(encoding="utf-8")
    ]
    assert planted


def _manifest_params() -> list[object]:
    return [
        pytest.param(file, id=str(file.relative_to(SCENARIOS_DIR)))
        for path in SCENARIOS
        for file in manifest_files(path)
    ]


@pytest.mark.parametrize("file", _manifest_params())
def test_manifests_are_valid_kubernetes_objects(file: Path) -> None:
    documents = [doc for doc in yaml.safe_load_all(file.read_text(encoding="utf-8")) if doc is not None]
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_playbook_has_the_allowlisted_name() -> None:
    from rules.allowlist import PLAYBOOKS

    assert PodFailurePlaybook.name in PLAYBOOKS
