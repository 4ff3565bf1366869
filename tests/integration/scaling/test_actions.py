"""create-hpa and patch-hpa on the sandbox: planned exactly, refused with the reason, executed through
the spine's executor (guard, server-side dry run, snapshot, apply) and reverted."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.server import SandboxCluster
from tests.support.scaling import FOREIGN_HPA, KEDA, SCENARIOS
from workers.errors import ActionRefused, NotFound
from workers.integrations.kubernetes.client import Kube
from workers.settings import NamespaceSettings
from workers.spine.executor import execute_plan
from workers.spine.plans import Plan
from workers.workflows.scaling.actions import ACTIONS

TARGET = {"kind": "Deployment", "namespace": "shop", "name": "web"}
PARAMS = {"hpa_name": "web", "min_replicas": 3, "max_replicas": 10, "target_percent": 70}


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    started: list[SandboxCluster] = []

    def _start(*extra: dict[str, Any], drop: str | None = None) -> Kube:
        folder = Path(shutil.copytree(SCENARIOS / "scaling-web", tmp_path / f"s{len(started)}"))
        if extra:
            (folder / "extra.yaml").write_text(yaml.safe_dump_all(extra))
        if drop:
            (folder / drop).unlink()
        cluster = SandboxCluster.from_dir(folder).start()
        started.append(cluster)
        return Kube(cluster.api_client())

    yield _start
    for cluster in started:
        cluster.stop()


def test_create_hpa_plans_the_exact_object_applies_it_and_reverts_by_deleting_it(start: Any) -> None:
    kube = start()
    plan = ACTIONS["create-hpa"].plan(kube, TARGET, PARAMS, {})
    assert (plan.verb, plan.kind, plan.name) == ("create", "HorizontalPodAutoscaler", "web")
    assert plan.patch["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 3,
        "maxReplicas": 10,
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
            }
        ],
    }
    steps: list[str] = []
    outcome = execute_plan(kube, plan, NamespaceSettings(), lambda kind, data: steps.append(kind))
    assert steps == ["preconditions_passed", "dry_run", "snapshot", "applied"]
    created = kube.get_hpa("shop", "web")
    assert created["metadata"]["labels"]["aiops.dev/managed-by"] == "aiops-responder"
    with pytest.raises(ActionRefused, match="already"):
        ACTIONS["create-hpa"].plan(kube, TARGET, PARAMS, {})
    with pytest.raises(ActionRefused, match="already exists"):
        execute_plan(kube, plan, NamespaceSettings())  # approved twice: the object is there now
    revert = Plan.from_dict(outcome["revert_plan"])
    assert (revert.verb, revert.guard) == ("delete", {"uid": created["metadata"]["uid"]})
    execute_plan(kube, revert, NamespaceSettings())
    with pytest.raises(NotFound):
        kube.get_hpa("shop", "web")


def test_patch_hpa_changes_only_ours_and_reverts_to_the_previous_spec(start: Any) -> None:
    kube = start()
    execute_plan(
        kube, ACTIONS["create-hpa"].plan(kube, TARGET, {**PARAMS, "max_replicas": 4}, {}), NamespaceSettings()
    )
    plan = ACTIONS["patch-hpa"].plan(kube, TARGET, {**PARAMS, "max_replicas": 8, "target_percent": 60}, {})
    assert plan.patch_type == "merge" and plan.patch["spec"]["maxReplicas"] == 8
    outcome = execute_plan(kube, plan, NamespaceSettings())
    patched = kube.get_hpa("shop", "web")["spec"]
    assert (
        patched["maxReplicas"] == 8
        and patched["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    )
    execute_plan(kube, Plan.from_dict(outcome["revert_plan"]), NamespaceSettings())
    restored = kube.get_hpa("shop", "web")["spec"]
    assert (
        restored["maxReplicas"] == 4
        and restored["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    )


@pytest.mark.parametrize(
    ("extra", "drop", "reason"),
    [
        ([KEDA], None, "scaled by KEDA"),
        ([FOREIGN_HPA], None, "which aiops-responder did not create"),
        ([], "metrics-api.yaml", "resource metrics API is not served"),
    ],
)
def test_refusals_name_the_reason(
    start: Any, extra: list[dict[str, Any]], drop: str | None, reason: str
) -> None:
    kube = start(*extra, drop=drop)
    with pytest.raises(ActionRefused, match=reason):
        ACTIONS["create-hpa"].plan(kube, TARGET, PARAMS, {})


def test_a_workload_that_is_gone_and_bad_params_are_refused(start: Any) -> None:
    kube = start()
    with pytest.raises(ActionRefused, match="no longer exists"):
        ACTIONS["create-hpa"].plan(kube, {**TARGET, "name": "gone"}, PARAMS, {})
    with pytest.raises(ActionRefused, match="1 <= min <= max"):
        ACTIONS["create-hpa"].plan(kube, TARGET, {**PARAMS, "min_replicas": 11}, {})
    with pytest.raises(ActionRefused, match="no HPA created by aiops-responder"):
        ACTIONS["patch-hpa"].plan(kube, TARGET, PARAMS, {})


def test_at_execution_the_target_is_the_hpa_and_the_deployment_comes_from_the_params(start: Any) -> None:
    kube = start()
    hpa_target = {"kind": "HorizontalPodAutoscaler", "namespace": "shop", "name": "web-cpu"}
    plan = ACTIONS["create-hpa"].plan(
        kube, hpa_target, {**PARAMS, "hpa_name": "web-cpu", "deployment": "web"}, {}
    )
    assert plan.name == "web-cpu" and plan.patch["spec"]["scaleTargetRef"]["name"] == "web"
    with pytest.raises(ActionRefused, match="names no Deployment"):
        ACTIONS["create-hpa"].plan(kube, hpa_target, PARAMS, {})
