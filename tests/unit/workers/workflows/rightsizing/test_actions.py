"""``patch-resources``: the exact JSON patch (a name test per container, the whole new resources), the
guard, and the HPA retarget; refusals name the reason. The cluster is a dict of objects."""

from __future__ import annotations

from typing import Any

import pytest

from workers.errors import ActionRefused, NotFound
from workers.workflows.rightsizing.actions import PatchResources, new_resources


class Cluster:
    """The two reads the action makes, over plain objects (a stand-in for the API server)."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = {(o["kind"], o["metadata"]["name"]): o for o in objects}

    def get_workload(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        if (kind, name) not in self.objects:
            raise NotFound(f"{kind} {name}")
        return self.objects[(kind, name)]

    def get_hpa(self, namespace: str, name: str) -> dict[str, Any]:
        return self.get_workload("HorizontalPodAutoscaler", namespace, name)


STS = {
    "kind": "StatefulSet",
    "metadata": {"name": "db", "namespace": "shop", "uid": "u-1", "generation": 4},
    "spec": {"template": {"spec": {"containers": [
        {"name": "init-ish"},
        {"name": "app", "resources": {"requests": {"cpu": "500m", "ephemeral-storage": "1Gi"},
                                      "limits": {"cpu": "1", "memory": "1Gi"}}},
    ]}}},
}  # fmt: skip
WANTED = {"requests": {"cpu": "150m", "memory": "240Mi"}, "limits": {"cpu": None, "memory": "240Mi"}}
TARGET = {"kind": "StatefulSet", "namespace": "shop", "name": "db"}


def test_the_plan_is_one_exact_json_patch_with_a_guard() -> None:
    plan = PatchResources().plan(Cluster(STS), TARGET, {"containers": {"app": WANTED}}, {})
    assert (plan.verb, plan.kind, plan.name, plan.patch_type) == ("patch", "StatefulSet", "db", "json")
    assert plan.guard == {"uid": "u-1", "generation": 4}
    assert plan.patch == [
        {"op": "test", "path": "/spec/template/spec/containers/1/name", "value": "app"},
        {
            "op": "replace",
            "path": "/spec/template/spec/containers/1/resources",
            "value": {
                "requests": {"cpu": "150m", "ephemeral-storage": "1Gi", "memory": "240Mi"},
                "limits": {"memory": "240Mi"},
            },
        },
    ]
    assert "cpu limit 1 → none" in plan.summary and "memory request none → 240Mi" in plan.summary


def test_refusals_name_the_reason() -> None:
    action = PatchResources()
    with pytest.raises(ActionRefused, match="no container 'web'"):
        action.plan(Cluster(STS), TARGET, {"containers": {"web": WANTED}}, {})
    with pytest.raises(ActionRefused, match="no longer exists"):
        action.plan(Cluster(), TARGET, {"containers": {"app": WANTED}}, {})
    with pytest.raises(ActionRefused, match="not a Job"):
        action.plan(Cluster(), {**TARGET, "kind": "Job"}, {"containers": {"app": WANTED}}, {})
    with pytest.raises(ActionRefused, match="names no container"):
        action.plan(Cluster(STS), TARGET, {"containers": {}}, {})


def test_hpa_retarget_is_a_merge_patch_of_its_metrics() -> None:
    hpa = {
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "front", "uid": "h", "generation": 2},
        "spec": {"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 40}}}]},
    }  # fmt: skip
    params = {"hpa": {"name": "front", "targets": [{"index": 0, "from": 40, "to": 69}]}}
    plan = PatchResources().plan(
        Cluster(hpa), {"namespace": "shop", "kind": "Deployment", "name": "front"}, params, {}
    )
    assert plan.kind == "HorizontalPodAutoscaler" and plan.patch_type == "merge"
    assert plan.patch["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 69
    assert plan.guard == {"uid": "h", "generation": 2}
    moved = {"hpa": {"name": "front", "targets": [{"index": 0, "from": 50, "to": 69}]}}
    with pytest.raises(ActionRefused, match="targets 40 %, not 50 %"):
        PatchResources().plan(Cluster(hpa), {"namespace": "shop"}, moved, {})


def test_new_resources_removes_what_is_set_to_none() -> None:
    assert new_resources({"limits": {"cpu": "1"}}, {"limits": {"cpu": None}}) == {}
    assert new_resources({}, {"requests": {"cpu": "5m"}}) == {"requests": {"cpu": "5m"}}
